"""Step 3 of the authorization endpoint: the scopes the user approved.

OpenID Connect Core §3.1.2.4: trusted clients get every supported scope; other clients get
what the user allowed on the consent screen, read from the consent cookie the sign-in web app
set for exactly this request.
"""

from __future__ import annotations

from collections.abc import Mapping

from konnect.clients import ClientRegistration
from konnect.oidc.authorize.outcome import Outcome
from konnect.oidc.authorize.request import AuthorizeRequest
from konnect.oidc.authorize.signin import Authenticated, signin_redirect
from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider
from konnect.oidc.scopes import OFFLINE_ACCESS, OPENID
from konnect.oidc.session import CookieSpec


def approved_scopes(
    provider: Provider,
    request: AuthorizeRequest,
    cookies: Mapping[str, str],
) -> tuple[tuple[str, ...] | None, list[CookieSpec]]:
    """Scopes the user approved: all supported ones for trusted clients, else from consent.

    Returns (None, []) when consent is still needed.
    """
    supported = provider.scopes.filter_supported(request.scopes)
    needs_consent = not request.client.trusted or "consent" in request.prompt
    if not needs_consent:
        scopes = supported
        if not request.returns_code:
            scopes = [scope for scope in scopes if scope != OFFLINE_ACCESS]
        return tuple(scopes), []
    if not request.consent_ref:
        return None, []
    name = _consent_name(provider, request.client, request.params)
    consent = provider.cookies.read_consent(cookies, name, provider.now())
    if consent is None:
        return None, []
    spent = [provider.cookies.delete_consent(name)]
    if not consent.allow:
        raise OAuthError("access_denied", "the user denied the request")
    scopes = [scope for scope in supported if scope in consent.scopes or scope == OPENID]
    if not request.returns_code:
        scopes = [scope for scope in scopes if scope != OFFLINE_ACCESS]
    return tuple(scopes), spent


def _consent_name(provider: Provider, client: ClientRegistration, shown: Mapping[str, str]) -> str:
    """The consent cookie's name, bound to the request as the web app saw it (`shown`):
    values inside a request object are not shown."""
    return provider.cookies.consent_name(
        shown.get("konnect", ""),
        client.id,
        shown.get("redirect_uri", ""),
        shown.get("state", ""),
        shown.get("nonce", ""),
    )


def user_approved(
    provider: Provider,
    client: ClientRegistration,
    shown: Mapping[str, str],
    cookies: Mapping[str, str],
) -> bool:
    """Whether the user allowed this client on the consent screen in this flow."""
    if not shown.get("konnect"):
        return False
    name = _consent_name(provider, client, shown)
    consent = provider.cookies.read_consent(cookies, name, provider.now())
    return consent is not None and consent.allow


def granted_scopes(
    provider: Provider,
    request: AuthorizeRequest,
    authenticated: Authenticated,
    cookies: Mapping[str, str],
) -> tuple[tuple[str, ...] | None, list[CookieSpec]]:
    """The scopes decided at sign-in (guests, cookie backend users), else those approved."""
    if authenticated.scopes is not None:
        return authenticated.scopes, []
    return approved_scopes(provider, request, cookies)


def consent_needed(provider: Provider, request: AuthorizeRequest) -> Outcome:
    """Core §3.1.2.1 prompt=none: no consent screen; otherwise the sign-in web app's."""
    if "none" in request.prompt:
        raise OAuthError("consent_required", "the user has not approved this client")
    return signin_redirect(provider, request, "consent")
