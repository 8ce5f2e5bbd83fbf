"""Step 2b of the authorization endpoint: a sign-in that lacks a second factor the request
needs (or gave it longer than `mfa_max_age` ago) is sent to the sign-in web app for that
factor alone (step-up); with `prompt=none` the answer is `interaction_required`.

Guests and users who exist only at an upstream authority are not asked (the client or the
authority vouches for them). The cookie backend's sign-ins cannot give a second factor here: they
count as multi-factor only when the operator says so (`mfa_satisfied_by cookie`), and are
refused where one is required. konnect.mfa is reached only through
`provider.second_factors`, so it is imported only when MFA is on.
"""

from __future__ import annotations

from konnect.identity import UPSTREAM_PROVIDER
from konnect.oidc.authorize.outcome import Outcome
from konnect.oidc.authorize.request import AuthorizeRequest
from konnect.oidc.authorize.signin import Authenticated, signin_redirect
from konnect.oidc.errors import OAuthError
from konnect.oidc.guest import GUEST_PROVIDER
from konnect.oidc.provider import Provider


async def second_factor_missing(
    provider: Provider,
    request: AuthorizeRequest,
    authenticated: Authenticated,
    requested_level: str = "",
) -> bool:
    """Whether the sign-in must still give a second factor for this request."""
    factors = provider.second_factors
    logon, user = authenticated.logon, authenticated.user
    if factors is None or logon.provider in (GUEST_PROVIDER, UPSTREAM_PROVIDER):
        return False
    client_level = request.client.mfa
    if provider.browser_sign_in is not None:
        if "cookie" in factors.policy.satisfied_by:
            return False
        if factors.level(user.groups, client_level, requested_level) == "required":
            raise OAuthError(
                "access_denied", "this sign-in cannot give the second factor the client needs"
            )
        return False
    return await factors.needed(
        factors.account(logon.provider, logon.subject),
        user.groups,
        logon.amr,
        logon.mfa_time,
        client_level,
        requested_level,
    )


def second_factor_needed(provider: Provider, request: AuthorizeRequest) -> Outcome:
    """Core §3.1.2.6: prompt=none cannot ask for it; otherwise the sign-in web app does."""
    if "none" in request.prompt:
        raise OAuthError("interaction_required", "a second factor is needed")
    return signin_redirect(provider, request, "oidc")
