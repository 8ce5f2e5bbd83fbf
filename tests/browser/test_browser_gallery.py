"""Every screen in light and dark, desktop and mobile, saved under artifacts/screenshots/.

The walk is also a test: each screen must render without console errors, and without
horizontal scrolling on a phone.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.browser_kit import (
    TRUSTED,
    UNTRUSTED,
    authorize_url,
    client_result,
    screen_options,
    shoot,
    sign_in,
    variants,
)
from tests.browser.conftest import OpenPage
from tests.conftest import RunningServer

ServerFactory = Callable[..., RunningServer]
VARIANTS = list(variants())


def snap(page: Page, screen: str, label: str) -> None:
    expect(page.locator(f"#{screen}")).to_be_visible()
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shoot(page, f"{screen}-{label}")


@pytest.mark.parametrize(("label", "scheme", "viewport"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_every_screen(
    server: RunningServer,
    open_page: OpenPage,
    label: str,
    scheme: str,
    viewport: dict[str, int],
) -> None:
    page, watch = open_page(server, **screen_options(scheme, viewport))
    watch.intercept(TRUSTED["redirect_uri"])
    watch.intercept(UNTRUSTED["redirect_uri"])
    watch.expect_status(400)
    scope = "openid profile offline_access"
    page.goto(authorize_url(server.url, UNTRUSTED, scope=scope))
    snap(page, "signin", label)
    sign_in(page, password="wrong")
    expect(page.locator("#signin-alert")).not_to_be_empty()
    shoot(page, f"signin-error-{label}")
    sign_in(page)
    snap(page, "consent", label)
    page.get_by_role("button", name="Allow").click()
    client_result(page, watch)
    page.goto(authorize_url(server.url, TRUSTED, prompt="select_account"))
    snap(page, "choose", label)
    page.goto(server.url + "/signin/v1/welcome")
    snap(page, "welcome", label)
    page.goto(server.url + "/signin/v1/goodbye")
    snap(page, "goodbye", label)
    page.get_by_role("button", name="Sign out").click()
    snap(page, "signedout", label)
    page.goto(server.url + "/signin/v1/identifier?flow=oidc&client_id=nobody&scope=openid")
    sign_in(page)
    snap(page, "failed", label)
