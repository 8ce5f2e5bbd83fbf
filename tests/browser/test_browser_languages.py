"""The sign-in page in every language: chosen from the browser's language, named in itself in
the picker, and readable in light and dark, desktop and 320 px (screenshots saved under
artifacts/screenshots/)."""

from __future__ import annotations

import subprocess

import pytest
from playwright.sync_api import expect

from tests.browser.browser_kit import (
    LANGUAGES,
    TRUSTED,
    alert_text,
    authorize_url,
    catalogue,
    shoot,
    variants,
)
from tests.browser.conftest import OpenPage
from tests.conftest import RunningServer, require


def has_font_for(language: str) -> bool:
    """Whether fontconfig, which Chromium asks for fallback fonts, covers the language."""
    primary = language.split("-", 1)[0]
    found = subprocess.run(
        ["fc-list", f":lang={primary}", "family"], capture_output=True, text=True, check=True
    )
    return bool(found.stdout.strip())


@pytest.mark.parametrize("language", LANGUAGES)
def test_sign_in_page_in_every_language(
    server: RunningServer, open_page: OpenPage, language: str
) -> None:
    require(has_font_for(language), f"no font covers {language}: run ./scripts/test")
    messages = catalogue(language)
    for label, scheme, viewport in variants():
        mobile = viewport["width"] < 500
        page, _ = open_page(
            server,
            locale=language,
            color_scheme=scheme,
            viewport=viewport,
            is_mobile=mobile,
            has_touch=mobile,
        )
        page.goto(authorize_url(server.url, TRUSTED))
        expect(page.get_by_role("heading", name=messages["signin.title"])).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page).to_have_title(messages["signin.title"])
        picker = page.get_by_label(messages["language.label"])
        expect(picker.locator("option:checked")).to_have_text(messages["language.name"])
        page.get_by_label(messages["signin.username"]).fill(f"nobody-{language}")
        page.get_by_label(messages["signin.password"], exact=True).fill("wrong")
        page.get_by_role("button", name=messages["signin.submit"], exact=True).click()
        assert alert_text(page) == messages["signin.failed"]
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        shoot(page, f"signin-{language}-{label}")
