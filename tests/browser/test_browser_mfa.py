"""Multi-factor sign-in in Chromium: setting up an authenticator app at sign-in (QR code,
key, recovery codes shown once), password and TOTP, a recovery code, and a step-up once the
second factor is older than mfa_max_age; screenshots in light and dark, desktop and phone."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from konnect.http.app import Overrides
from konnect.mfa.totp import totp_code
from tests.browser.browser_kit import (
    TRUSTED,
    Watch,
    authorize_url,
    catalogue,
    client_result,
    screen_options,
    shoot,
    sign_in,
)
from tests.browser.browser_kit import variants as screen_variants
from tests.browser.conftest import OpenPage
from tests.conftest import Clock, RunningServer

ServerFactory = Callable[..., RunningServer]
VARIANTS = list(screen_variants())
ENGLISH = catalogue("en")


@pytest.fixture
def clock() -> Clock:
    return Clock(1_700_000_000.0)


@pytest.fixture
def server(server_factory: ServerFactory, clock: Clock) -> RunningServer:
    return server_factory(Overrides(clock=clock), mfa="required", mfa_max_age=600)


def opened(server: RunningServer, open_page: OpenPage, **options: object) -> tuple[Page, Watch]:
    page, watch = open_page(server, **options)
    watch.intercept(TRUSTED["redirect_uri"])
    return page, watch


def signed_in(server: RunningServer, open_page: OpenPage, **options: object) -> tuple[Page, Watch]:
    """A new browser that asked to sign in at the trusted client and gave the password."""
    page, watch = opened(server, open_page, **options)
    page.goto(authorize_url(server.url, TRUSTED))
    sign_in(page)
    return page, watch


def enrol(page: Page, clock: Clock, label: str = "") -> tuple[bytes, list[str]]:
    """From the set-up screen to the recovery codes; the seed and the codes shown."""
    expect(page.locator("#enrol")).to_be_visible()
    expect(page.locator("#enrol-qr svg")).to_be_visible()
    key = page.locator("#enrol-key").inner_text().replace(" ", "")
    seed = base64.b32decode(key + "=" * (-len(key) % 8))
    if label:
        shoot(page, f"enrol-{label}")
    page.get_by_label("Code shown in the app").fill(
        "000000" if totp_code(seed, clock.now) != "000000" else "111111"
    )
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#enrol-alert")).to_have_text(ENGLISH["enrol.wrong"])
    page.get_by_label("Code shown in the app").fill(totp_code(seed, clock.now))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#codes")).to_be_visible()
    codes = page.locator("#codes-list code").all_inner_texts()
    if label:
        shoot(page, f"codes-{label}")
    page.get_by_role("button", name=ENGLISH["codes.continue"]).click()
    return seed, codes


def test_setting_up_then_password_and_code(
    server: RunningServer, open_page: OpenPage, clock: Clock
) -> None:
    page, watch = signed_in(server, open_page)
    seed, codes = enrol(page, clock)
    assert len(codes) == 10
    assert "code" in client_result(page, watch)

    other, other_watch = signed_in(server, open_page)
    expect(other.locator("#mfa")).to_be_visible()
    expect(other.get_by_label("Code", exact=True)).to_be_focused()
    other.get_by_label("Code", exact=True).fill("12")
    other.get_by_role("button", name="Verify").click()
    expect(other.locator("#mfa-alert")).to_have_text(ENGLISH["mfa.wrong"])
    expect(other.get_by_label("Code", exact=True)).to_have_attribute("aria-invalid", "true")
    clock.advance(30)
    other.get_by_label("Code", exact=True).fill(totp_code(seed, clock.now))
    other.keyboard.press("Enter")
    assert "code" in client_result(other, other_watch)


def test_a_recovery_code_instead_of_the_app(
    server: RunningServer, open_page: OpenPage, clock: Clock
) -> None:
    page, watch = signed_in(server, open_page)
    _, codes = enrol(page, clock)
    client_result(page, watch)

    other, other_watch = signed_in(server, open_page)
    other.get_by_role("button", name="Use a recovery code instead").click()
    expect(other.get_by_role("textbox", name="Recovery code")).to_be_focused()
    other.get_by_role("textbox", name="Recovery code").fill(codes[0])
    other.get_by_role("button", name="Verify").click()
    assert "code" in client_result(other, other_watch)


def test_step_up_after_mfa_max_age_asks_only_for_the_code(
    server: RunningServer, open_page: OpenPage, clock: Clock
) -> None:
    page, watch = signed_in(server, open_page)
    seed, _ = enrol(page, clock)
    client_result(page, watch)
    clock.advance(601)
    page.goto(authorize_url(server.url, TRUSTED))
    expect(page.locator("#mfa")).to_be_visible()
    expect(page.locator("#mfa-user")).to_contain_text("Jonas Brekke")
    expect(page.locator("#signin")).to_be_hidden()
    page.get_by_label("Code", exact=True).fill(totp_code(seed, clock.now))
    page.get_by_role("button", name="Verify").click()
    assert "code" in client_result(page, watch)


@pytest.mark.parametrize(("label", "scheme", "viewport"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_second_factor_screens(
    server: RunningServer,
    open_page: OpenPage,
    clock: Clock,
    label: str,
    scheme: str,
    viewport: dict[str, int],
) -> None:
    options = screen_options(scheme, viewport)
    page, watch = signed_in(server, open_page, **options)
    enrol(page, clock, label)
    client_result(page, watch)
    other, _ = signed_in(server, open_page, **options)
    expect(other.locator("#mfa")).to_be_visible()
    width = viewport["width"]
    assert other.evaluate("document.documentElement.scrollWidth") <= width
    shoot(other, f"mfa-{label}")
    other.get_by_role("button", name="Use a recovery code instead").click()
    shoot(other, f"mfa-recovery-{label}")
