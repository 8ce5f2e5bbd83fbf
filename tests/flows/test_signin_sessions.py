"""Sign-in sessions end: after their lifetimes, and at sign-out for every copy of the cookie.
The check-session iframe does not tell other sites who the visitor is."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from playwright.sync_api import sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from konnect.crypto import browser_state, session_state
from konnect.http.app import Overrides
from tests.conftest import Clock, RunningServer, api_headers, browser, free_port, sign_in
from tests.flows.test_bad_input import AUTHORIZE, good_params

ENDSESSION = "/signin/v1/identifier/_/endsession"


def silent_authorize(client: httpx.Client, **changes: str) -> dict[str, str]:
    """An authorization request with prompt=none: its answer's query parameters."""
    response = client.get(AUTHORIZE + "?" + urlencode(good_params(prompt="none", **changes)))
    assert response.status_code == 302, response.text
    return {
        key: values[0]
        for key, values in parse_qs(urlsplit(response.headers["location"]).query).items()
    }


def id_token(client: httpx.Client) -> str:
    implicit = good_params(
        prompt="none", response_type="id_token", code_challenge="-", code_challenge_method="-"
    )
    response = client.get(AUTHORIZE + "?" + urlencode(implicit))
    return parse_qs(urlsplit(response.headers["location"]).fragment)["id_token"][0]


def subject_of(token: str) -> str:
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


def copy_of(client: httpx.Client, base_url: str) -> httpx.Client:
    """A second browser holding the same cookies (copied by an attacker)."""
    thief = browser(base_url)
    for cookie in client.cookies.jar:
        thief.cookies.set(cookie.name, cookie.value or "", cookie.domain, cookie.path)
    return thief


def test_a_cookie_copied_before_sign_out_signs_no_one_in(server: RunningServer) -> None:
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        assert "code" in silent_authorize(client)
        with copy_of(client, server.url) as thief:
            logoff = client.post(
                "/signin/v1/identifier/_/logoff",
                json={"state": "x"},
                headers=api_headers(server.url),
            )
            assert logoff.status_code == 200
            assert silent_authorize(thief)["error"] == "login_required"
            hello = thief.post(
                "/signin/v1/identifier/_/hello",
                json={"state": "h"},
                headers=api_headers(server.url),
            )
            assert hello.status_code == 204


def test_signing_out_an_idle_cookie_ends_a_copy_kept_in_use(
    server_factory: Callable[..., RunningServer],
) -> None:
    clock = Clock(1_800_000_000)
    server = clocked_server(server_factory, clock)
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        with copy_of(client, server.url) as thief:
            clock.advance(3000)
            assert "code" in silent_authorize(thief)  # the copy stays fresh
            clock.advance(3000)
            logoff = client.post(
                "/signin/v1/identifier/_/logoff",
                json={"state": "x"},
                headers=api_headers(server.url),
            )
            assert logoff.status_code == 200
            assert silent_authorize(thief)["error"] == "login_required"


def test_end_session_also_ends_copies(server: RunningServer) -> None:
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        hint = id_token(client)
        with copy_of(client, server.url) as thief:
            assert (
                client.get(ENDSESSION + "?" + urlencode({"id_token_hint": hint})).status_code < 400
            )
            assert silent_authorize(thief)["error"] == "login_required"


def clocked_server(server_factory: Callable[..., RunningServer], clock: Clock) -> RunningServer:
    return server_factory(
        Overrides(clock=clock), session_max_age=10 * 3600, session_idle_timeout=3600
    )


def test_an_unused_sign_in_ends_after_the_idle_time(
    server_factory: Callable[..., RunningServer],
) -> None:
    clock = Clock(1_800_000_000)
    server = clocked_server(server_factory, clock)
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        clock.advance(3000)
        assert "code" in silent_authorize(client)  # use restarts the idle clock
        clock.advance(3000)
        assert "code" in silent_authorize(client)
        clock.advance(3601)
        assert silent_authorize(client)["error"] == "login_required"


def test_a_sign_in_in_use_ends_after_the_absolute_time(
    server_factory: Callable[..., RunningServer],
) -> None:
    clock = Clock(1_800_000_000)
    server = clocked_server(server_factory, clock)
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        for _ in range(12):
            clock.advance(3000)
            if "error" in silent_authorize(client):
                break
        assert clock.now - 1_800_000_000 == 36_000  # refused at ten hours, not before
        assert silent_authorize(client)["error"] == "login_required"


PROBE_PAGE = """<!doctype html><title>probe</title>
<iframe id=op src="%(iframe)s"></iframe>
<script>
window.addEventListener("message", function (event) { document.title = event.data; });
document.getElementById("op").addEventListener("load", function () {
  this.contentWindow.postMessage(%(message)s, "*");
});
</script>"""


class ProbeSite:
    """A site on a loopback port whose page frames the check-session iframe and posts one
    message to it; the page's title becomes the iframe's answer."""

    def __init__(self, iframe: str) -> None:
        self.iframe = iframe
        self.message = ""

        async def page(request: Request) -> Response:
            body = PROBE_PAGE % {"iframe": self.iframe, "message": json.dumps(self.message)}
            return Response(body, media_type="text/html")

        self.server = RunningServer(Starlette(routes=[Route("/", page)]), free_port())
        self.server.start()
        self.origin = self.server.url

    def ask(self, cookies: list[dict[str, str]], message: str) -> str:
        self.message = message
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
            )
            try:
                context = chromium.new_context()
                context.add_cookies(cookies)  # type: ignore[arg-type]
                page = context.new_page()
                page.goto(self.origin + "/")
                page.wait_for_function("document.title !== 'probe'", timeout=10_000)
                return page.title()
            finally:
                chromium.close()


def test_other_sites_cannot_ask_the_check_session_iframe_who_the_visitor_is(
    server: RunningServer,
) -> None:
    """A page on another origin that knows a user's subject frames the iframe and asks it
    with a session state made for its own origin: unsalted, the browser state was a hash
    of public values, and the iframe answered "unchanged" for that user."""
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        subject = subject_of(id_token(client))
        assert "code" in silent_authorize(client)  # sets the browser-state cookie
        cookies = [
            {"name": c.name, "value": c.value or "", "domain": "127.0.0.1", "path": c.path}
            for c in client.cookies.jar
        ]
    meta = httpx.get(server.url + "/.well-known/openid-configuration").json()
    evil = ProbeSite(meta["check_session_iframe"])
    relying_party = ProbeSite(meta["check_session_iframe"])
    try:
        guessed_state = browser_state(subject, server.url)
        guessed = session_state("trusted-app", evil.origin, guessed_state, "s")
        assert evil.ask(cookies, "trusted-app " + guessed) == "changed"
        # control: with the real browser state the iframe answers "unchanged"
        known = cookie_value(cookies, "KKBS")
        own = session_state("trusted-app", relying_party.origin, known, "s")
        assert relying_party.ask(cookies, "trusted-app " + own) == "unchanged"
    finally:
        evil.server.stop()
        relying_party.server.stop()


def cookie_value(cookies: list[dict[str, str]], name: str) -> str:
    return next(cookie["value"] for cookie in cookies if cookie["name"] == name)
