"""The authorization endpoint as its sequence of steps: request -> sign-in -> consent ->
respond.

Order matters for safety (RFC 6749 §4.1.2.1): the client and its redirect_uri are verified
first, and until then every error is shown as a page, never redirected. After that, errors go
back to the client in its response mode when `respond.may_redirect_error` allows it.
"""

from __future__ import annotations

from collections.abc import Mapping

from konnect.oidc.acr import check_met, level_of, second_factor_demanded
from konnect.oidc.authorize.consent import consent_needed, granted_scopes
from konnect.oidc.authorize.outcome import Outcome
from konnect.oidc.authorize.request import (
    AuthorizeRequest,
    error_mode,
    parse_request,
    verify_client,
    with_redirect_uri,
)
from konnect.oidc.authorize.respond import authorized, error_redirect, may_redirect_error
from konnect.oidc.authorize.second_factor import second_factor_missing, second_factor_needed
from konnect.oidc.authorize.signin import signed_in, signin_needed
from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider


async def authorize(
    provider: Provider,
    params: Mapping[str, str],
    cookies: Mapping[str, str],
    headers: Mapping[str, str] | None = None,
) -> Outcome:
    received = params
    try:
        params = await with_redirect_uri(provider, received)
        client = verify_client(provider, params)
    except OAuthError as error:
        return Outcome(error=error)
    mode = error_mode(params)
    try:
        request = await parse_request(provider, params, client, received)
        mode = request.response_mode
        return await _decide(provider, request, cookies, headers or {})
    except OAuthError as error:
        if error.error == "invalid_request_object":
            provider.log.warning("request object of client %s refused: %s", client.id, error)
        if not may_redirect_error(provider, client, received, cookies):
            return Outcome(error=error)
        return error_redirect(provider, params, mode, error)


async def _decide(
    provider: Provider,
    request: AuthorizeRequest,
    cookies: Mapping[str, str],
    headers: Mapping[str, str],
) -> Outcome:
    authenticated = await signed_in(provider, request, cookies, headers)
    if authenticated is None:
        return signin_needed(provider, request)
    required = request.acr.required
    if await second_factor_missing(
        provider, request, authenticated, "required" if second_factor_demanded(required) else ""
    ):
        return second_factor_needed(provider, request)
    check_met(level_of(authenticated.logon.amr), required)
    scopes, spent = granted_scopes(provider, request, authenticated, cookies)
    if scopes is None:
        return consent_needed(provider, request)
    outcome = await authorized(provider, request, authenticated, scopes, cookies)
    outcome.cookies.extend(spent)
    outcome.cookies.extend(provider.cookies.kept_alive(authenticated.logon, provider.now()))
    return outcome
