"""The security page in Chromium, with its virtual authenticator on a `localhost` issuer:
reached from the welcome screen, a factor renamed, the last one kept, an authenticator app
added after a valid code, a removal that asks for a fresh second factor first (the step-up
runs and the page comes back), new recovery codes; and the page in light and dark, desktop
and phone."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from konnect.mfa.totp import totp_code
from tests.browser.browser_kit import (
    MOBILE,
    TRUSTED,
    Watch,
    authorize_url,
    catalogue,
    client_result,
    screen_options,
)
from tests.browser.browser_kit import shoot as shoot
from tests.browser.browser_kit import sign_in as sign_in_with_password
from tests.browser.browser_kit import variants as screen_variants
from tests.browser.conftest import OpenPage
from tests.browser.test_browser_passkeys import (
    ENGLISH,
    PLATFORM,
    enrol_passkey,
    with_authenticator,
)
from tests.browser.test_browser_passkeys import clock as clock
from tests.browser.test_browser_passkeys import server as server
from tests.conftest import Clock, RunningServer

ServerFactory = Callable[..., RunningServer]
VARIANTS = list(screen_variants())
PASSKEY = ENGLISH["security.kindWebauthn"]


def security_page_with_passkey(
    server: RunningServer, open_page: OpenPage, **options: object
) -> tuple[Page, Watch]:
    """Signed in with a passkey set up at sign-in, on the security page (from the welcome
    screen's link)."""
    page, watch, _, _ = with_authenticator(server, open_page, PLATFORM, **options)
    page.goto(authorize_url(server.url, TRUSTED))
    sign_in_with_password(page)
    enrol_passkey(page)
    client_result(page, watch)
    page.goto(server.url + "/signin/v1/welcome")
    page.get_by_role("link", name=ENGLISH["welcome.security"]).click()
    expect(page.get_by_role("heading", name=ENGLISH["security.title"])).to_be_visible()
    expect(page.locator("#security-list li")).to_have_count(1)
    return page, watch


def names(page: Page) -> list[str]:
    return page.locator("#security-list .factor-name").all_inner_texts()


def confirm(page: Page, button: str) -> None:
    dialog = page.get_by_role("group")
    expect(dialog).to_be_visible()
    expect(page.locator("#security-confirm-text")).to_be_focused()
    dialog.get_by_role("button", name=button, exact=True).click()


def test_the_security_page(server: RunningServer, open_page: OpenPage, clock: Clock) -> None:
    page, _ = security_page_with_passkey(server, open_page)
    assert page.url == server.url + "/signin/v1/identifier/security"

    # Rename, by keyboard.
    page.get_by_role("button", name=f"{ENGLISH['security.rename']} {PASSKEY}").click()
    field = page.get_by_label(ENGLISH["security.name"], exact=True)
    expect(field).to_be_focused()
    field.fill("Laptop")
    field.press("Enter")
    expect(page.locator("#security-list .factor-name")).to_have_text(["Laptop"])
    expect(page.locator("#status")).to_have_text(ENGLISH["security.renamed"])

    # Escape leaves a confirmation without removing.
    page.get_by_role("button", name=f"{ENGLISH['security.remove']} Laptop").click()
    expect(page.locator("#security-confirm-text")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#security-confirm")).to_be_hidden()

    # The last factor stays: the policy requires one.
    page.get_by_role("button", name=f"{ENGLISH['security.remove']} Laptop").click()
    confirm(page, ENGLISH["security.remove"])
    expect(page.locator("#security-alert")).to_have_text(ENGLISH["security.protected"])

    # An authenticator app, stored after a valid code (a minute later: still fresh).
    clock.advance(60)
    page.get_by_role("button", name=ENGLISH["security.addApp"]).click()
    expect(page.locator("#enrol-qr svg")).to_be_visible()
    shoot(page, "security-add-app")
    key = page.locator("#enrol-key").inner_text().replace(" ", "")
    seed = base64.b32decode(key + "=" * (-len(key) % 8))
    page.get_by_label(ENGLISH["enrol.code"]).fill("000000")
    page.get_by_role("button", name=ENGLISH["enrol.submit"]).click()
    expect(page.locator("#enrol-alert")).to_have_text(ENGLISH["enrol.wrong"])
    page.get_by_label(ENGLISH["enrol.code"]).fill(totp_code(seed, clock.now))
    page.get_by_label(ENGLISH["security.appName"]).fill("Phone")
    page.get_by_role("button", name=ENGLISH["enrol.submit"]).click()
    expect(page.locator("#security-list .factor-name")).to_have_text(["Laptop", "Phone"])

    # Five minutes on, removing asks for the second factor again, then the page comes back.
    clock.advance(301)
    page.get_by_role("button", name=f"{ENGLISH['security.remove']} Phone").click()
    confirm(page, ENGLISH["security.remove"])
    expect(page.get_by_role("heading", name=ENGLISH["mfa.title"])).to_be_visible()
    page.get_by_label(ENGLISH["mfa.code"], exact=True).fill(totp_code(seed, clock.now))
    page.get_by_role("button", name=ENGLISH["mfa.submit"]).click()
    expect(page.get_by_role("heading", name=ENGLISH["security.title"])).to_be_visible()
    page.get_by_role("button", name=f"{ENGLISH['security.remove']} Phone").click()
    confirm(page, ENGLISH["security.remove"])
    expect(page.locator("#security-list .factor-name")).to_have_text(["Laptop"])
    expect(page.locator("#status")).to_have_text(ENGLISH["security.removed"])

    # New recovery codes, shown once, then back.
    page.get_by_role("button", name=ENGLISH["security.renew"]).click()
    confirm(page, ENGLISH["security.renewButton"])
    expect(page.locator("#codes-list code")).to_have_count(10)
    page.get_by_role("button", name=ENGLISH["codes.continue"]).click()
    expect(page.locator("#security-codes-left")).to_have_text(
        ENGLISH["security.codesLeft"].replace("{count}", "10")
    )


def test_mfa_off_has_no_security_page_or_link(
    server_factory: ServerFactory, open_page: OpenPage
) -> None:
    plain = server_factory()
    page, _ = open_page(plain)
    page.goto(plain.url + "/signin/v1/identifier")
    sign_in_with_password(page)
    expect(page.get_by_role("heading", name=ENGLISH["welcome.title"])).to_be_visible()
    expect(page.locator("#welcome-security")).to_be_hidden()
    assert page.request.get(plain.url + "/signin/v1/identifier/security").status == 404


@pytest.mark.parametrize(("label", "scheme", "viewport"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_security_screens(
    server: RunningServer,
    open_page: OpenPage,
    label: str,
    scheme: str,
    viewport: dict[str, int],
) -> None:
    page, _ = security_page_with_passkey(server, open_page, **screen_options(scheme, viewport))
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    shoot(page, f"security-{label}")
    page.get_by_role("button", name=f"{ENGLISH['security.remove']} {PASSKEY}").click()
    expect(page.locator("#security-confirm")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    shoot(page, f"security-confirm-{label}")


@pytest.mark.parametrize("language", ["de", "ru"])
def test_security_page_in_long_languages_fits_320px(
    server: RunningServer, open_page: OpenPage, language: str
) -> None:
    options = screen_options("light", MOBILE)
    page, _ = security_page_with_passkey(server, open_page, **options)
    page.locator("#language").select_option(language)
    expect(page.get_by_role("heading", name=catalogue(language)["security.title"])).to_be_visible()
    shoot(page, f"security-{language}-mobile")
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
