"""Session Management OP (oidcc-session-management-certification-test-plan)."""

from __future__ import annotations

import httpx
import pytest

from tests.conformance.harness import CLIENT_ID, POST_LOGOUT_URI, Conformance
from tests.conformance.logout import (
    RP_ORIGIN,
    browser_state,
    check_session_answer,
    end_session,
    signed_in,
)

pytestmark = pytest.mark.conformance("oidcc-session-management-certification-test-plan")


def test_oidcc_session_management_discovery_endpoint_verification(conf: Conformance) -> None:
    iframe = conf.meta["check_session_iframe"]
    assert iframe.startswith(conf.meta["issuer"] + "/")
    assert conf.meta["end_session_endpoint"].startswith(conf.meta["issuer"] + "/")
    page = httpx.get(iframe)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'addEventListener("message"' in page.text
    assert "SHA-256" in page.text


def test_oidcc_session_management_rp_initiated_logout(
    conf: Conformance, browser: httpx.Client
) -> None:
    flow = signed_in(conf, browser)
    assert flow.id_token
    session_state = flow.response["session_state"]
    before = browser_state(browser)
    assert check_session_answer(CLIENT_ID, RP_ORIGIN, session_state, before) == "unchanged"
    assert check_session_answer("other", RP_ORIGIN, session_state, before) == "changed"
    response = end_session(
        conf,
        browser,
        id_token_hint=flow.id_token,
        post_logout_redirect_uri=POST_LOGOUT_URI,
        state="sm-state",
    )
    assert response.headers["location"] == POST_LOGOUT_URI + "?state=sm-state"
    after = browser_state(browser)
    assert check_session_answer(CLIENT_ID, RP_ORIGIN, session_state, after) == "changed"
