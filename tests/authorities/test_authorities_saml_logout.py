"""Single logout with a SAML identity provider, both ways: signing out at konnect sends a
LogoutRequest there and its LogoutResponse leads on; a signed LogoutRequest from there ends
the sign-in here, an unsigned one does not."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import httpx

from tests.authorities.saml_setup import (  # noqa: F401
    AUTHORIZE,
    SLO,
    SamlFederation,
    post_answer,
    query_of,
    saml_entry,
    saml_factory,
    to_idp,
)
from tests.authorities.test_authorities_saml import signed_in
from tests.authorities.test_authorities_signin import code_after_sign_in
from tests.conftest import api_headers, browser
from tests.flows.test_bad_input import REDIRECT, good_params

Factory = Callable[..., SamlFederation]


def still_signed_in(client: httpx.Client) -> bool:
    answer = client.get(AUTHORIZE + "?" + urlencode(good_params(prompt="none")))
    location = answer.headers["location"]
    assert location.startswith(REDIRECT), location
    return "code=" in location


def test_signing_out_at_konnect_ends_the_idp_session_and_comes_back(
    saml_factory: Factory,  # noqa: F811
) -> None:
    federation = saml_factory()
    base = federation.konnect.url
    with browser(base) as client:
        code_after_sign_in(client, signed_in(client, federation))
        logoff = client.post(
            "/signin/v1/identifier/_/logoff", json={"state": "lo1"}, headers=api_headers(base)
        )
        continue_uri = logoff.json()["continue_uri"]
        assert continue_uri.startswith(federation.idp.url + "/slo?")
        assert "SAMLRequest" in query_of(continue_uri)
        back = httpx.get(continue_uri)  # the IdP answers with a LogoutResponse
        assert back.status_code == 302
        assert back.headers["location"].startswith(base + SLO + "?")
        done = client.get(back.headers["location"])
        assert done.status_code == 302, done.text
        assert done.headers["location"] == base + "/signin/v1/goodbye"
        assert not still_signed_in(client)
        replayed = client.get(back.headers["location"])  # its cookie is gone: refused
        assert replayed.status_code == 400


def test_a_signed_logout_request_from_the_idp_ends_the_sign_in_here(
    saml_factory: Factory,  # noqa: F811
) -> None:
    federation = saml_factory()
    base = federation.konnect.url
    with browser(base) as client:
        code_after_sign_in(client, signed_in(client, federation))
        request = httpx.get(federation.idp.url + "/logout-user")
        location = request.headers["location"]
        assert location.startswith(base + SLO + "?")
        answer = client.get(location)
        assert answer.status_code == 302, answer.text
        assert answer.headers["location"].startswith(federation.idp.url + "/slo?")
        assert "SAMLResponse" in query_of(answer.headers["location"])
        assert not still_signed_in(client)


def test_an_unsigned_logout_request_is_refused(saml_factory: Factory) -> None:  # noqa: F811
    federation = saml_factory()
    idp = federation.idp.in_process()
    with browser(federation.konnect.url) as client:
        query = query_of(to_idp(client, federation))
        action, response = idp.answer(idp.request(query))
        fields = {"SAMLResponse": response, "RelayState": query["RelayState"]}
        code_after_sign_in(client, post_answer(client, action, fields))
        answer = client.get(idp.logout_request(sign=False))
        assert answer.status_code == 400
        assert still_signed_in(client)


def test_without_end_session_enabled_signing_out_stays_here(
    saml_factory: Factory,  # noqa: F811
) -> None:
    federation = saml_factory(lambda idp: [saml_entry(idp, end_session_enabled=None)])
    base = federation.konnect.url
    with browser(base) as client:
        code_after_sign_in(client, signed_in(client, federation))
        logoff = client.post(
            "/signin/v1/identifier/_/logoff", json={"state": "lo1"}, headers=api_headers(base)
        )
        assert not logoff.json().get("continue_uri", "").startswith(federation.idp.url)
        assert not still_signed_in(client)
