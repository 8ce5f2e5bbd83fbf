"""RP-Initiated Logout OP (oidcc-rp-initiated-logout-certification-test-plan)."""

from __future__ import annotations

import httpx
import pytest

from tests.conformance.harness import CLIENT_ID, POST_LOGOUT_URI, Conformance
from tests.conformance.logout import (
    assert_no_redirect_to_client,
    end_session,
    signed_in,
    still_signed_in,
)

pytestmark = pytest.mark.conformance("oidcc-rp-initiated-logout-certification-test-plan")


def returned_to_client(response: httpx.Response) -> str:
    assert response.status_code in (302, 303), response.text
    location = str(response.headers["location"])
    assert location.split("?")[0] == POST_LOGOUT_URI
    return location


def test_oidcc_rp_initiated_logout_discovery_endpoint_verification(conf: Conformance) -> None:
    endpoint = conf.meta["end_session_endpoint"]
    assert endpoint.startswith(conf.meta["issuer"] + "/")


def test_oidcc_rp_initiated_logout(conf: Conformance, browser: httpx.Client) -> None:
    flow = signed_in(conf, browser)
    assert flow.id_token
    response = end_session(
        conf,
        browser,
        id_token_hint=flow.id_token,
        post_logout_redirect_uri=POST_LOGOUT_URI,
        state="logout-state",
    )
    assert returned_to_client(response) == POST_LOGOUT_URI + "?state=logout-state"
    assert not still_signed_in(conf, browser)


def test_oidcc_rp_initiated_logout_bad_post_logout_redirect_uri(
    conf: Conformance, browser: httpx.Client
) -> None:
    flow = signed_in(conf, browser)
    assert flow.id_token
    response = end_session(
        conf,
        browser,
        id_token_hint=flow.id_token,
        post_logout_redirect_uri="https://attacker.example.com/logged-out",
        state="logout-state",
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "attacker.example.com" not in response.text


def test_oidcc_rp_initiated_logout_modified_id_token_hint(
    conf: Conformance, browser: httpx.Client
) -> None:
    flow = signed_in(conf, browser)
    assert flow.id_token
    header, payload, signature = flow.id_token.split(".")
    flipped = signature[:-2] + ("AA" if not signature.endswith("AA") else "BA")
    response = end_session(
        conf,
        browser,
        id_token_hint=f"{header}.{payload}.{flipped}",
        post_logout_redirect_uri=POST_LOGOUT_URI,
        state="logout-state",
    )
    assert response.status_code == 400
    assert_no_redirect_to_client(response)
    assert still_signed_in(conf, browser)


def test_oidcc_rp_initiated_logout_bad_id_token_hint(
    conf: Conformance, browser: httpx.Client
) -> None:
    from joserfc import jwt
    from joserfc.jwk import OctKey

    flow = signed_in(conf, browser)
    fake = jwt.encode(
        {"alg": "HS256"},
        {**flow.claims, "iss": conf.meta["issuer"], "aud": CLIENT_ID},
        OctKey.import_key("conformance-secret-1-" + "x" * 16),
    )
    response = end_session(
        conf,
        browser,
        id_token_hint=fake,
        post_logout_redirect_uri=POST_LOGOUT_URI,
        state="logout-state",
    )
    assert response.status_code == 400
    assert_no_redirect_to_client(response)
    assert still_signed_in(conf, browser)


def test_oidcc_rp_initiated_logout_no_id_token_hint(
    conf: Conformance, browser: httpx.Client
) -> None:
    signed_in(conf, browser)
    response = end_session(
        conf, browser, post_logout_redirect_uri=POST_LOGOUT_URI, state="logout-state"
    )
    assert_no_redirect_to_client(response)


def test_oidcc_rp_initiated_logout_no_params(conf: Conformance, browser: httpx.Client) -> None:
    signed_in(conf, browser)
    response = end_session(conf, browser)
    assert_no_redirect_to_client(response)


def test_oidcc_rp_initiated_logout_no_post_logout_redirect_uri(
    conf: Conformance, browser: httpx.Client
) -> None:
    flow = signed_in(conf, browser)
    assert flow.id_token
    response = end_session(conf, browser, id_token_hint=flow.id_token, state="logout-state")
    assert_no_redirect_to_client(response)
    assert not still_signed_in(conf, browser)


def test_oidcc_rp_initiated_logout_no_state(conf: Conformance, browser: httpx.Client) -> None:
    flow = signed_in(conf, browser)
    assert flow.id_token
    response = end_session(
        conf, browser, id_token_hint=flow.id_token, post_logout_redirect_uri=POST_LOGOUT_URI
    )
    assert returned_to_client(response) == POST_LOGOUT_URI
    assert not still_signed_in(conf, browser)


def test_oidcc_rp_initiated_logout_only_state(conf: Conformance, browser: httpx.Client) -> None:
    signed_in(conf, browser)
    response = end_session(conf, browser, state="logout-state")
    assert_no_redirect_to_client(response)


def test_oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri(
    conf: Conformance, browser: httpx.Client
) -> None:
    flow = signed_in(conf, browser)
    assert flow.id_token
    response = end_session(
        conf,
        browser,
        id_token_hint=flow.id_token,
        post_logout_redirect_uri=POST_LOGOUT_URI + "?foo=bar",
        state="logout-state",
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert still_signed_in(conf, browser)
