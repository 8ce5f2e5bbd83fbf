"""Shared steps of the RP-Initiated Logout and Session Management plans: sign in, log out at
the end session endpoint, and a model of the check_session_iframe's answer."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode, urlsplit

import httpx

from tests.conformance.flow import Flow, run_flow
from tests.conformance.harness import CODE, POST_LOGOUT_URI, Conformance

RP_ORIGIN = "{0.scheme}://{0.netloc}".format(urlsplit(POST_LOGOUT_URI))


def signed_in(conf: Conformance, browser: httpx.Client) -> Flow:
    return run_flow(conf, browser, CODE, expect_login=True)


def end_session(conf: Conformance, browser: httpx.Client, **params: str) -> httpx.Response:
    url = conf.meta["end_session_endpoint"]
    return browser.get(url + ("?" + urlencode(params) if params else ""))


def still_signed_in(conf: Conformance, browser: httpx.Client) -> bool:
    """prompt=none succeeds only while the OP session lives."""
    response = conf.delivered(conf.open_authorize(browser, conf.request(CODE, prompt="none")))
    if "error" in response.params:
        assert response["error"] == "login_required"
        return False
    return True


def assert_no_redirect_to_client(response: httpx.Response) -> None:
    """The OP shows its own page (error or confirmation), never the client's URI."""
    location = response.headers.get("location", "")
    assert not location.startswith(RP_ORIGIN), location
    assert response.status_code < 500


def check_session_answer(client_id: str, origin: str, session_state: str, cookie: str) -> str:
    """What the check_session_iframe answers (OpenID Connect Session Management 1.0 §3.1)."""
    digest, _, salt = session_state.partition(".")
    text = f"{client_id} {origin} {cookie} {salt}"
    return "unchanged" if hashlib.sha256(text.encode()).hexdigest() == digest else "changed"


def browser_state(browser: httpx.Client) -> str:
    """The browser state cookie the check_session_iframe reads."""
    return next((c.value or "" for c in browser.cookies.jar if c.name.endswith("KKBS")), "")
