"""Passkeys and security keys in Chromium, with its virtual authenticator (DevTools
protocol) on a `localhost` issuer: a passkey set up at sign-in and then used instead of the
password, a security key after the password, and the screens in light and dark, desktop and
phone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import CDPSession, Page, expect

from konnect.http.app import Overrides
from tests.browser.browser_kit import (
    TRUSTED,
    Watch,
    authorize_url,
    catalogue,
    client_result,
    screen_options,
    shoot,
)
from tests.browser.browser_kit import sign_in as sign_in_with_password
from tests.browser.browser_kit import variants as screen_variants
from tests.browser.conftest import OpenPage
from tests.conftest import Clock, RunningServer

ServerFactory = Callable[..., RunningServer]
VARIANTS = list(screen_variants())
ENGLISH = catalogue("en")
#: A platform authenticator that keeps passkeys and verifies the user (a phone, a laptop).
PLATFORM = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}
#: A plain USB security key: no passkeys kept on it, no user verification.
SECURITY_KEY = {
    "protocol": "ctap2",
    "transport": "usb",
    "hasResidentKey": False,
    "hasUserVerification": False,
    "automaticPresenceSimulation": True,
}


#: A browser without passkey autofill (conditional mediation).
NO_AUTOFILL = "PublicKeyCredential.isConditionalMediationAvailable = async () => false;"


@pytest.fixture
def clock() -> Clock:
    return Clock(1_700_000_000.0)


@pytest.fixture
def server(server_factory: ServerFactory, clock: Clock) -> RunningServer:
    return server_factory(Overrides(clock=clock), host="localhost", mfa="required")


def with_authenticator(
    server: RunningServer, open_page: OpenPage, authenticator: dict[str, Any], **options: Any
) -> tuple[Page, Watch, CDPSession, str]:
    """A page whose browser has one virtual authenticator (its id is returned)."""
    page, watch = open_page(server, **options)
    watch.intercept(TRUSTED["redirect_uri"])
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": authenticator})
    return page, watch, cdp, str(added["authenticatorId"])


def credentials(cdp: CDPSession, authenticator_id: str) -> list[dict[str, Any]]:
    found = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    return list(found["credentials"])


def enrol_passkey(page: Page, label: str = "") -> list[str]:
    """From the set-up screen through creating a passkey to the recovery codes shown."""
    expect(page.locator("#enrol")).to_be_visible()
    create = page.get_by_role("button", name=ENGLISH["enrol.passkeyButton"])
    expect(create).to_be_focused()
    if label:
        shoot(page, f"enrol-passkey-{label}")
    create.click()
    expect(page.locator("#codes")).to_be_visible()
    codes = page.locator("#codes-list code").all_inner_texts()
    page.get_by_role("button", name=ENGLISH["codes.continue"]).click()
    return codes


def set_up_and_sign_out(server: RunningServer, page: Page, watch: Watch) -> list[str]:
    """Sign in with the password, create a passkey (the recovery codes are returned), reach
    the client, then forget the browser's sign-in."""
    page.goto(authorize_url(server.url, TRUSTED))
    sign_in_with_password(page)
    codes = enrol_passkey(page)
    assert "code" in client_result(page, watch)
    page.context.clear_cookies()
    return codes


def test_a_passkey_set_up_at_sign_in_then_fills_in_for_the_password(
    server: RunningServer, open_page: OpenPage
) -> None:
    page, watch, cdp, authenticator = with_authenticator(server, open_page, PLATFORM)
    assert len(set_up_and_sign_out(server, page, watch)) == 10
    [passkey] = credentials(cdp, authenticator)
    assert passkey["isResidentCredential"] is True
    assert passkey["rpId"] == "localhost"
    assert passkey["userHandle"] not in ("", "MTAwMQ")  # random, never the subject "1001"

    # The browser offers the passkey on the user name field (the virtual authenticator
    # picks it at once): signed in without a password.
    before = len(watch.requests)
    page.goto(authorize_url(server.url, TRUSTED))
    assert "code" in client_result(page, watch)
    called = [request.url.rsplit("/", 1)[-1] for request in watch.requests[before:]]
    assert "passkey" in called
    assert "logon" not in called
    assert credentials(cdp, authenticator)[0]["signCount"] >= 2


def test_the_passkey_button_where_the_browser_has_no_autofill(
    server: RunningServer, open_page: OpenPage
) -> None:
    page, watch, _, _ = with_authenticator(server, open_page, PLATFORM)
    page.add_init_script(NO_AUTOFILL)
    set_up_and_sign_out(server, page, watch)
    page.goto(authorize_url(server.url, TRUSTED))
    expect(page.locator("#signin")).to_be_visible()
    page.get_by_role("button", name=ENGLISH["signin.passkey"]).click()
    assert "code" in client_result(page, watch)


def test_a_passkey_without_user_verification_does_not_sign_in(
    server: RunningServer, open_page: OpenPage
) -> None:
    page, watch, cdp, authenticator = with_authenticator(server, open_page, PLATFORM)
    page.add_init_script(NO_AUTOFILL)
    set_up_and_sign_out(server, page, watch)
    cdp.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False}
    )
    page.goto(authorize_url(server.url, TRUSTED))
    page.get_by_role("button", name=ENGLISH["signin.passkey"]).click()
    expect(page.locator("#signin-alert")).not_to_be_empty()
    expect(page.locator("#signin")).to_be_visible()


def test_password_and_security_key(server: RunningServer, open_page: OpenPage) -> None:
    page, watch, cdp, authenticator = with_authenticator(server, open_page, SECURITY_KEY)
    set_up_and_sign_out(server, page, watch)
    [key] = credentials(cdp, authenticator)
    assert key["isResidentCredential"] is False
    page.goto(authorize_url(server.url, TRUSTED))
    sign_in_with_password(page)
    expect(page.locator("#mfa")).to_be_visible()
    use_key = page.get_by_role("button", name=ENGLISH["mfa.useKey"])
    expect(use_key).to_be_focused()
    expect(page.get_by_role("button", name=ENGLISH["mfa.useRecovery"])).to_be_visible()
    use_key.click()
    assert "code" in client_result(page, watch)


@pytest.mark.parametrize(("label", "scheme", "viewport"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_passkey_screens(
    server: RunningServer,
    open_page: OpenPage,
    label: str,
    scheme: str,
    viewport: dict[str, int],
) -> None:
    options = screen_options(scheme, viewport)
    page, watch, _, _ = with_authenticator(server, open_page, SECURITY_KEY, **options)
    page.goto(authorize_url(server.url, TRUSTED))
    expect(page.get_by_role("button", name=ENGLISH["signin.passkey"])).to_be_visible()
    shoot(page, f"signin-passkey-{label}")
    sign_in_with_password(page)
    enrol_passkey(page, label)
    client_result(page, watch)
    page.context.clear_cookies()
    page.goto(authorize_url(server.url, TRUSTED))
    sign_in_with_password(page)
    expect(page.locator("#mfa-key")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    shoot(page, f"mfa-key-{label}")


def test_no_passkeys_offered_on_an_ip_address(
    server_factory: ServerFactory, open_page: OpenPage, clock: Clock
) -> None:
    on_ip = server_factory(Overrides(clock=clock), mfa="required")
    assert on_ip.url.startswith("http://127.0.0.1:")
    page, _, _, _ = with_authenticator(on_ip, open_page, PLATFORM)
    page.goto(authorize_url(on_ip.url, TRUSTED))
    expect(page.locator("#signin")).to_be_visible()
    expect(page.get_by_role("button", name=ENGLISH["signin.passkey"])).to_be_hidden()
    sign_in_with_password(page)
    expect(page.locator("#enrol-qr svg")).to_be_visible()
    expect(page.locator("#enrol-passkey")).to_be_hidden()
