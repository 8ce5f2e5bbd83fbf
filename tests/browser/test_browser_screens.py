"""Consent, account choice, welcome, sign-out and error screens in a real browser."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.browser_kit import (
    TRUSTED,
    UNTRUSTED,
    Watch,
    authorize_url,
    client_result,
    shoot,
    sign_in,
)
from tests.browser.conftest import OpenPage
from tests.conftest import RunningServer

ServerFactory = Callable[..., RunningServer]
LOGO = "https://rp.example.com/logo.svg"
LOGO_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48">'
    b'<rect width="48" height="48" rx="12" fill="#e8590c"/>'
    b'<path d="M14 30l10-14 10 14z" fill="#fff"/></svg>'
)


@pytest.fixture
def server(server_factory: ServerFactory, config_dir: Path) -> RunningServer:
    """The test registry's clients, the untrusted one with a web page and a logo, and a
    scopes file describing one extra scope."""
    registry = config_dir / "registry.yaml"
    text = registry.read_text(encoding="utf-8").replace(
        "    redirect_uris: [https://rp.example.com/cb]",
        f"    uri: https://rp.example.com/\n    logo_uri: {LOGO}\n"
        "    redirect_uris: [https://rp.example.com/cb]",
        1,
    )
    registry.write_text(text, encoding="utf-8")
    scopes = config_dir / "scopes.yaml"
    scopes.write_text(
        'scopes:\n  kopano/kwm:\n    description: "Join and host meetings"\n    priority: 50\n',
        encoding="utf-8",
    )
    return server_factory(identifier_scopes_conf=scopes)


def watched(page: Page, watch: Watch) -> Page:
    watch.intercept(TRUSTED["redirect_uri"])
    watch.intercept(UNTRUSTED["redirect_uri"])
    watch.intercept(LOGO, LOGO_SVG)
    return page


def open_consent(server: RunningServer, open_page: OpenPage) -> tuple[Page, Watch]:
    page, watch = open_page(server)
    watched(page, watch)
    scope = "openid profile offline_access kopano/kwm"
    page.goto(authorize_url(server.url, UNTRUSTED, scope=scope))
    sign_in(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Untrusted App would like to access your account"
    )
    return page, watch


def test_consent_shows_the_client_and_its_scopes_then_allows(
    server: RunningServer, open_page: OpenPage
) -> None:
    page, watch = open_consent(server, open_page)
    expect(page).to_have_url(f"{server.url}/signin/v1/consent?" + page.url.split("?", 1)[1])
    expect(page.locator("#consent-scopes li")).to_have_text(
        [
            "Join and host meetings",
            "See your name, username and email address",
            "Stay connected to your account while you are away",
        ]
    )
    expect(page.locator("#consent-user")).to_have_text("JBSigned in as Jonas Brekke")
    expect(page.locator("#consent-return")).to_contain_text("rp.example.com")
    expect(page.get_by_role("link", name="About Untrusted App")).to_have_attribute(
        "href", "https://rp.example.com/"
    )
    logo = page.locator("#consent-logo")
    expect(logo).to_be_visible()
    assert page.evaluate("document.getElementById('consent-logo').naturalWidth") > 0
    shoot(page, "consent-logo-light-desktop")
    page.get_by_role("button", name="Allow").click()
    result = client_result(page, watch)
    assert result["state"] == "rp-state"
    token = httpx.post(
        server.url + "/konnect/v1/token",
        data={"grant_type": "authorization_code", "code": result["code"], **UNTRUSTED},
        auth=("untrusted-app", "untrusted-secret"),
    ).json()
    assert set(token["scope"].split()) == {"openid", "profile", "offline_access", "kopano/kwm"}


def test_consent_cancel_answers_access_denied(server: RunningServer, open_page: OpenPage) -> None:
    page, watch = open_consent(server, open_page)
    page.get_by_role("button", name="Cancel").click()
    result = client_result(page, watch)
    assert result["error"] == "access_denied"
    assert result["state"] == "rp-state"
    assert "code" not in result


def test_select_account_continues_as_the_signed_in_user(
    server: RunningServer, open_page: OpenPage
) -> None:
    page, watch = open_page(server)
    watched(page, watch)
    page.goto(authorize_url(server.url, TRUSTED))
    sign_in(page)
    client_result(page, watch)
    page.goto(authorize_url(server.url, TRUSTED, prompt="select_account", state="second"))
    expect(page.get_by_role("heading", name="Choose an account")).to_be_visible()
    account = page.get_by_role("button", name="Jonas Brekke")
    expect(account).to_contain_text("jonas")
    expect(account).to_be_focused()
    account.click()
    result = client_result(page, watch)
    assert result["state"] == "second"
    assert result["code"]


def test_select_account_can_use_another_account(server: RunningServer, open_page: OpenPage) -> None:
    page, watch = open_page(server)
    watched(page, watch)
    page.goto(authorize_url(server.url, TRUSTED))
    sign_in(page)
    client_result(page, watch)
    page.goto(authorize_url(server.url, TRUSTED, prompt="select_account", state="third"))
    page.get_by_role("button", name="Use another account").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value("")
    expect(page.get_by_label("Username")).to_be_focused()
    sign_in(page)
    assert client_result(page, watch)["state"] == "third"


def test_welcome_then_sign_out(server: RunningServer, open_page: OpenPage) -> None:
    page, _ = open_page(server)
    page.goto(server.url + "/signin/v1/identifier")
    sign_in(page)
    expect(page.get_by_role("heading", name="You are signed in")).to_be_visible()
    expect(page).to_have_url(server.url + "/signin/v1/welcome")
    expect(page.locator("#welcome-user")).to_have_text("Signed in as Jonas Brekke (jonas).")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    expect(page).to_have_url(server.url + "/signin/v1/goodbye")
    page.goto(server.url + "/signin/v1/welcome")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_end_session_asks_then_says_goodbye(server: RunningServer, open_page: OpenPage) -> None:
    page, _ = open_page(server)
    page.goto(server.url + "/signin/v1/identifier")
    sign_in(page)
    expect(page.get_by_role("heading", name="You are signed in")).to_be_visible()
    page.goto(server.url + "/signin/v1/identifier/_/endsession")
    expect(page.get_by_role("heading", name="Sign out?")).to_be_visible()
    expect(page.locator("#goodbye-user")).to_have_text(
        "Jonas Brekke (jonas) is still signed in on this device."
    )
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()


def test_unknown_client_of_a_signed_in_user_gets_the_error_screen(
    server: RunningServer, open_page: OpenPage
) -> None:
    page, watch = open_page(server)
    watch.expect_status(400)
    page.goto(server.url + "/signin/v1/identifier")
    sign_in(page)
    expect(page.get_by_role("heading", name="You are signed in")).to_be_visible()
    page.goto(
        server.url + "/signin/v1/identifier?flow=oidc&client_id=nobody&"
        "redirect_uri=https%3A%2F%2Fevil.example%2Fcb&scope=openid"
    )
    expect(page.get_by_role("heading", name="This sign-in cannot continue")).to_be_visible()
    expect(page.locator("#failed-code")).to_have_text("invalid_request")


def test_authorize_error_is_the_web_app_error_screen(
    server: RunningServer, open_page: OpenPage
) -> None:
    query = "client_id=trusted-app&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&scope=openid"
    url = f"{server.url}/signin/v1/identifier/_/authorize?response_type=code&{query}"
    response = httpx.get(url)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page, watch = open_page(server, locale="de-DE")
    watch.expect_status(400)
    page.goto(url)
    heading = page.get_by_role("heading", name="Diese Anmeldung kann nicht fortgesetzt werden")
    expect(heading).to_be_visible()
    expect(page.locator("#failed-code")).to_have_text("invalid_request")
    expect(page.locator("#failed-text")).to_contain_text("redirect_uri")
    shoot(page, "error-de-light-desktop")
