"""The sign-in page with upstream identity providers, in Chromium: a button per authority
beside the password form, in the light and the dark scheme, and `default: yes` going
straight to the provider."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Locator, Page, Request, expect

from tests.authorities.conftest import Federation, Upstream, authority_entry
from tests.browser.browser_kit import (
    TRUSTED,
    UNTRUSTED,
    Watch,
    authorize_url,
    client_result,
    shoot,
)
from tests.browser.conftest import OpenPage, chromium, open_page  # noqa: F401


def open_signin(
    open_page: OpenPage,  # noqa: F811
    federation: Federation,
    client: dict[str, str] = TRUSTED,
) -> tuple[Page, Watch]:
    page, watch = open_page(federation.konnect)
    # The upstream is a second server on loopback: the browser goes there for real.
    page.context.route(federation.upstream.issuer + "/**", lambda route: route.continue_())
    watch.intercept(client["redirect_uri"])
    page.goto(authorize_url(federation.konnect.url, client))
    return page, watch


def shoot_light_and_dark(page: Page, name: str, button: Locator) -> None:
    """Screenshots of the page in the light and in the dark scheme (`<name>-dark`); the
    authority's button takes each scheme's colours."""
    shoot(page, name)
    light = button.evaluate("element => getComputedStyle(element).color")
    page.emulate_media(color_scheme="dark")
    expect(button).to_be_visible()
    assert button.evaluate("element => getComputedStyle(element).color") != light
    shoot(page, name + "-dark")
    page.emulate_media(color_scheme="light")


def _redirected(request: Request) -> bool:
    response = request.response()
    return response is not None and response.status == 302


def two_authorities(upstream: Upstream) -> list[dict[str, object]]:
    return [
        authority_entry(upstream, default=None),
        authority_entry(upstream, id="partner", name="Partner Company", default=None),
    ]


def test_one_authority_shows_its_button_beside_the_password_form(
    federation_factory: Callable[..., Federation],
    open_page: OpenPage,  # noqa: F811
) -> None:
    federation = federation_factory(lambda up: [authority_entry(up, default=None)])
    page, watch = open_signin(open_page, federation)
    expect(page.get_by_label("Username")).to_be_visible()
    button = page.get_by_role("link", name="Sign in with Corporate")
    expect(button).to_be_visible()
    shoot_light_and_dark(page, "authorities-one", button)
    button.click()
    assert "code" in client_result(page, watch)


def test_several_authorities_each_have_a_button_and_sign_in(
    federation_factory: Callable[..., Federation],
    open_page: OpenPage,  # noqa: F811
) -> None:
    federation = federation_factory(two_authorities)
    page, watch = open_signin(open_page, federation)
    expect(page.get_by_role("link", name="Sign in with Corporate")).to_be_visible()
    partner = page.get_by_role("link", name="Sign in with Partner Company")
    expect(partner).to_be_visible()
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    shoot_light_and_dark(page, "authorities-several", partner)
    partner.click()
    result = client_result(page, watch)
    assert result["state"] == "rp-state"
    assert "code" in result


def test_a_default_authority_skips_the_sign_in_page_and_consent_follows(
    federation_factory: Callable[..., Federation],
    open_page: OpenPage,  # noqa: F811
) -> None:
    federation = federation_factory()
    page, watch = open_signin(open_page, federation, UNTRUSTED)
    # Straight to the upstream and back: the first screen is the consent of a client the
    # operator does not trust, as after a password sign-in.
    expect(page.locator("#consent-user")).to_have_text("JBSigned in as Jonas Brekke")
    signin_pages = [
        item for item in watch.requests if "identifier?" in item.url and "flow=oidc" in item.url
    ]
    assert signin_pages
    assert [item.url for item in signin_pages if not _redirected(item)] == []
    page.get_by_role("button", name="Allow").click()
    assert "code" in client_result(page, watch)
    assert chromium is not None
