"""Where the sign-in web app sends people: never to a script URI, and only after showing
where a self-registered client leads."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route as WebRoute

from tests.browser.browser_kit import AUTHORIZE, TRUSTED, authorize_url, sign_in
from tests.browser.conftest import OpenPage
from tests.conftest import RunningServer, free_port

ATTACKER = "https://attacker.example.net/cb"
SCRIPT = "javascript:document.title='ran'"


@pytest.fixture
def server(server_factory: Callable[..., RunningServer]) -> RunningServer:
    return server_factory(allow_dynamic_client_registration=True)


def unsigned(claims: dict[str, str]) -> str:
    def part(value: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return part({"alg": "none"}) + "." + part(claims) + "."


def test_consent_marks_a_self_registered_client_and_shows_where_it_leads(
    server: RunningServer, open_page: OpenPage
) -> None:
    registered = httpx.post(
        server.url + "/konnect/v1/register",
        json={
            "client_name": "Trusted App",  # a borrowed name
            "redirect_uris": [ATTACKER],
            "request_object_signing_alg": "none",
        },
    )
    assert registered.status_code == 201, registered.text
    client_id = registered.json()["client_id"]
    # The redirect URI travels only inside the (unsigned) request object.
    request = unsigned({"redirect_uri": ATTACKER, "state": "s", "nonce": "n"})
    query = {"client_id": client_id, "response_type": "code", "scope": "openid"}
    page, _ = open_page(server)
    page.goto(server.url + AUTHORIZE + "?" + urlencode({**query, "request": request}))
    sign_in(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Trusted App would like to access your account"
    )
    expect(page.locator("#consent-unverified")).to_be_visible()
    expect(page.locator("#consent-unverified")).to_contain_text("Unverified application")
    expect(page.locator("#consent-return")).to_have_text(
        "Afterwards you will be taken to attacker.example.net."
    )


def answer_with(page: Page, endpoint: str, extra: dict[str, object]) -> None:
    """Answer the identifier API's `endpoint` as a tampered server would, echoing the state."""

    def fulfil(route: Route) -> None:
        sent = json.loads(route.request.post_data or "{}")
        body = {"success": True, "state": sent.get("state", ""), "username": "jonas", **extra}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route(f"**/signin/v1/identifier/_/{endpoint}", fulfil)


def test_a_script_continue_uri_after_sign_in_is_not_followed(
    server: RunningServer, open_page: OpenPage
) -> None:
    page, _ = open_page(server)
    page.goto(authorize_url(server.url, TRUSTED))

    def tamper(route: Route) -> None:
        """The real sign-in (its cookie is kept), with the continue_uri replaced."""
        response = route.fetch()
        body = response.json()
        body["hello"]["continue_uri"] = SCRIPT
        route.fulfill(response=response, body=json.dumps(body))

    page.route("**/signin/v1/identifier/_/logon", tamper)
    sign_in(page)
    expect(page).to_have_url(re.compile(re.escape(server.url + "/signin/v1/welcome")))
    expect(page.get_by_role("heading", level=1)).to_have_text("You are signed in")
    assert page.title() != "ran"


def test_a_script_continue_uri_after_sign_out_is_not_followed(
    server: RunningServer, open_page: OpenPage
) -> None:
    page, _ = open_page(server)
    page.goto(server.url + "/signin/v1/identifier")
    sign_in(page)
    expect(page).to_have_url(server.url + "/signin/v1/welcome")
    answer_with(page, "logoff", {"continue_uri": SCRIPT})
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#signedout")).to_be_visible()
    assert page.title() != "ran"


@pytest.fixture
def relying_party() -> Iterator[str]:
    """A relying party's callback page on a loopback port (native loopback URIs match any
    port), so the browser really follows konnect's redirect to it."""

    async def callback(request: Request) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>client</title>")

    server = RunningServer(Starlette(routes=[WebRoute("/cb", callback)]), free_port())
    server.start()
    yield server.url + "/cb"
    server.stop()


def test_an_error_redirect_does_not_carry_the_fragment_it_arrived_with(
    server: RunningServer, chromium: Browser, relying_party: str
) -> None:
    """The chain's last link in a real browser: konnect reached with tokens in the fragment
    (as a first response would deliver them) answers with an error redirect; the client
    must not see that fragment."""
    context = chromium.new_context()
    try:
        page = context.new_page()
        client = {"client_id": "trusted-app", "redirect_uri": relying_party}
        no_openid = authorize_url(server.url, client, scope="profile")
        page.goto(no_openid + "#access_token=stolen")
        expect(page).to_have_title("client")
        assert page.url.startswith(relying_party + "?error=invalid_scope"), page.url
        assert "stolen" not in page.url
    finally:
        context.close()
