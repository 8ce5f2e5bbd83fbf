"""A whole sign-in through a SAML identity provider in Chromium: the sign-in page's button,
the identity provider's page, konnect's assertion consumer, and the relying party's code,
exchanged for tokens with the local user's subject; and a SAML authority beside an OpenID
one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import expect

from tests.authorities.conftest import Federation, authority_entry
from tests.authorities.saml_idp import write_key_pair
from tests.authorities.saml_setup import (  # noqa: F401
    METADATA,
    SamlFederation,
    SamlIdp,
    saml_entry,
    saml_factory,
)
from tests.authorities.test_authorities_browser import shoot_light_and_dark
from tests.authorities.test_authorities_signin import local_subject
from tests.browser.browser_kit import TRUSTED, authorize_url, client_result
from tests.browser.conftest import OpenPage, chromium, open_page  # noqa: F401
from tests.conftest import free_port
from tests.flows.test_bad_input import CHALLENGE
from tests.flows.test_consent_and_prompts import claims_of, exchange


def test_the_sign_in_page_button_leads_through_the_idp_to_konnects_code_and_tokens(
    saml_factory: Callable[..., SamlFederation],  # noqa: F811
    open_page: OpenPage,  # noqa: F811
) -> None:
    federation = saml_factory(lambda idp: [saml_entry(idp, default=None)])
    page, watch = open_page(federation.konnect)
    page.context.route(federation.idp.url + "/**", lambda route: route.continue_())
    watch.intercept(TRUSTED["redirect_uri"])
    pkce = {"code_challenge": CHALLENGE, "code_challenge_method": "S256"}
    page.goto(authorize_url(federation.konnect.url, TRUSTED, **pkce))
    expect(page.get_by_label("Username")).to_be_visible()
    button = page.get_by_role("link", name="Sign in with Campus")
    expect(button).to_be_visible()
    shoot_light_and_dark(page, "authorities-saml", button)
    button.click()
    expect(page.get_by_role("heading", name="Test IdP")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    result = client_result(page, watch)
    assert result["state"] == "rp-state"
    claims = claims_of(exchange(federation.konnect, result["code"])["id_token"])
    assert claims["sub"] == local_subject(federation)  # type: ignore[arg-type]
    assert claims["name"] == "Jonas Brekke"


def test_an_openid_and_a_saml_authority_side_by_side(
    federation_factory: Callable[..., Federation],
    open_page: OpenPage,  # noqa: F811
    tmp_path: Path,
) -> None:
    idp = SamlIdp(free_port(), tmp_path / "idp", "")
    write_key_pair(idp.folder)
    federation = federation_factory(
        lambda upstream: [
            authority_entry(upstream, default=None),
            saml_entry(idp, default=None),
        ]
    )
    idp.sp_metadata_url = federation.konnect.url + METADATA
    idp.start()
    try:
        page, watch = open_page(federation.konnect)
        page.context.route(idp.url + "/**", lambda route: route.continue_())
        watch.intercept(TRUSTED["redirect_uri"])
        page.goto(authorize_url(federation.konnect.url, TRUSTED))
        expect(page.get_by_role("link", name="Sign in with Corporate")).to_be_visible()
        campus = page.get_by_role("link", name="Sign in with Campus")
        expect(campus).to_be_visible()
        shoot_light_and_dark(page, "authorities-oidc-and-saml", campus)
        campus.click()
        page.get_by_role("button", name="Continue").click()
        assert "code" in client_result(page, watch)
    finally:
        idp.stop()
