"""Branding from configuration, seen in a browser: name, logo, accent colour, background."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.browser_kit import TRUSTED, authorize_url, shoot, variants
from tests.browser.conftest import OpenPage
from tests.conftest import RunningServer

ServerFactory = Callable[..., RunningServer]
PRODUCT = 'Acme <Cloud> & "Friends"'
LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40">'
    '<rect width="40" height="40" rx="10" fill="#0a7f5a"/>'
    '<circle cx="20" cy="20" r="9" fill="none" stroke="#fff" stroke-width="4"/></svg>'
)
BACKGROUND = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 160 100" preserveAspectRatio="none">'
    '<defs><linearGradient id="g" x2="1" y2="1"><stop offset="0" stop-color="#0b3d2e"/>'
    '<stop offset="1" stop-color="#2bb37f"/></linearGradient></defs>'
    '<rect width="160" height="100" fill="url(#g)"/>'
    '<circle cx="130" cy="20" r="40" fill="#fff" fill-opacity=".08"/></svg>'
)


@pytest.fixture
def branded(server_factory: ServerFactory, tmp_path: Path) -> RunningServer:
    (tmp_path / "logo.svg").write_text(LOGO, encoding="utf-8")
    (tmp_path / "background.svg").write_text(BACKGROUND, encoding="utf-8")
    return server_factory(
        branding_product_name=PRODUCT,
        branding_logo=str(tmp_path / "logo.svg"),
        branding_accent_color="#0A7F5A",
        branding_background=str(tmp_path / "background.svg"),
    )


def test_branding_shows_name_logo_colour_and_background(
    branded: RunningServer, open_page: OpenPage
) -> None:
    page, _ = open_page(branded)
    page.goto(authorize_url(branded.url, TRUSTED))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page).to_have_title(f"Sign in · {PRODUCT}")
    expect(page.locator(".brand-name")).to_have_text(PRODUCT)
    expect(page.locator("#signin-subtitle")).to_have_text(f"Continue with your {PRODUCT} account")
    assert page.evaluate("document.querySelector('.brand-logo').naturalWidth") > 0
    button = page.get_by_role("button", name="Sign in", exact=True)
    expect(button).to_have_css("background-color", "rgb(10, 127, 90)")
    background = page.evaluate("getComputedStyle(document.body).backgroundImage")
    assert "/signin/v1/static/branding/background." in background
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 1


@pytest.mark.parametrize(("label", "scheme", "viewport"), list(variants()))
def test_branded_sign_in_screenshots(
    branded: RunningServer,
    open_page: OpenPage,
    label: str,
    scheme: str,
    viewport: dict[str, int],
) -> None:
    page, _ = open_page(branded, color_scheme=scheme, viewport=viewport)
    page.goto(authorize_url(branded.url, TRUSTED))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shoot(page, f"branded-signin-{label}")
