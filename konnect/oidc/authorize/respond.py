"""Step 4 of the authorization endpoint: the response to the client.

OpenID Connect Core §3.1.2.5 (success) and §3.1.2.6 (errors), in the response mode of OAuth
2.0 Multiple Response Types §2 or Form Post Response Mode, with `iss` (RFC 9207) and
`session_state` (Session Management §3). Errors go back to the client only if the operator
registered it or the user approved it in this flow; otherwise they are shown as a page, so
that nobody can use konnect to send people to a site of their choosing (RFC 9700 §4.11.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from konnect.clients import ClientRegistration
from konnect.crypto import browser_state, public_subject, random_string, session_state
from konnect.oidc.acr import level_of, reported_acr
from konnect.oidc.authorize.consent import user_approved
from konnect.oidc.authorize.outcome import Outcome
from konnect.oidc.authorize.request import AuthorizeRequest
from konnect.oidc.authorize.signin import Authenticated
from konnect.oidc.claims import wants_auth_time
from konnect.oidc.errors import OAuthError
from konnect.oidc.grants import Grant
from konnect.oidc.logout_channels import remember_client
from konnect.oidc.provider import Provider
from konnect.oidc.session import CookieSpec, OidcSession


def redirect_with(uri: str, params: Mapping[str, str], mode: str) -> str:
    """Add parameters to the redirect URI's query (keeping its own) or as its fragment."""
    parts = urlsplit(uri)
    if mode == "fragment":
        return urlunsplit(parts._replace(fragment=urlencode(list(params.items()))))
    query = parse_qsl(parts.query, keep_blank_values=True)
    query = [(key, value) for key, value in query if key not in params]
    query.extend(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def respond(uri: str, params: dict[str, str], mode: str) -> Outcome:
    """The authorization response in its response mode (query, fragment or form_post).

    A query response ends in an empty fragment of its own: a redirect without one inherits
    the fragment of the request (RFC 9110 §10.2.2), which may hold an earlier response's
    tokens when someone chained two authorization requests."""
    if mode == "form_post":
        return Outcome(location=uri, form_post=params)
    location = redirect_with(uri, params, mode)
    return Outcome(location=location if mode == "fragment" else location + "#")


def may_redirect_error(
    provider: Provider,
    client: ClientRegistration,
    shown: Mapping[str, str],
    cookies: Mapping[str, str],
) -> bool:
    """Errors go back to clients the operator registered, and to others the user approved."""
    return client.verified or user_approved(provider, client, shown, cookies)


def error_redirect(
    provider: Provider, request_params: Mapping[str, str], mode: str, error: OAuthError
) -> Outcome:
    params = error.as_dict()
    if request_params.get("state"):
        params["state"] = request_params["state"]
    params["iss"] = provider.issuer
    return respond(request_params["redirect_uri"], params, mode)


def _session_cookies(
    provider: Provider,
    cookies: Mapping[str, str],
    public_sub: str,
    provider_name: str,
    client: ClientRegistration,
) -> tuple[OidcSession, list[CookieSpec]]:
    """The browser's OIDC session (the same while the same user stays signed in)."""
    record = provider.cookies.read_session(cookies)
    clients: tuple[str, ...] = ()
    if (
        record
        and record.get("sub") == public_sub
        and isinstance(record.get("id"), str)
        and isinstance(record.get("bs"), str)
    ):
        session = OidcSession(record["id"], record["bs"])
        clients = provider.cookies.session_clients(record)
    else:
        session = OidcSession(random_string(32), random_string(32))
    clients = remember_client(clients, client)
    state_value = browser_state(public_sub, provider.issuer, session.browser_salt)
    return session, [
        provider.cookies.session(session, public_sub, provider_name, clients),
        provider.cookies.browser_state(state_value),
    ]


def success(
    provider: Provider,
    request: AuthorizeRequest,
    authenticated: Authenticated,
    scopes: tuple[str, ...],
    cookies: Mapping[str, str],
) -> Outcome:
    user = authenticated.user
    provider_name = authenticated.logon.provider
    public_sub = public_subject(user.subject, provider_name)
    session, session_cookies = _session_cookies(
        provider, cookies, public_sub, provider_name, request.client
    )
    grant = Grant(
        grant_id=random_string(16),
        client_id=request.client.id,
        user=user,
        provider=provider_name,
        scopes=scopes,
        auth_time=authenticated.logon.logon_time,
        sid=session.sid,
        nonce=request.nonce,
        claims=_authorized_claims(request),
        include_auth_time=_includes_auth_time(request),
        amr=authenticated.logon.amr,
        acr=_acr(provider, request, authenticated),
        epoch=authenticated.logon.epoch,
        redirect_uri=request.redirect_uri,
        code_challenge=request.code_challenge,
        response_type=request.response_type,
    )
    response = _response_params(provider, request, grant)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(request.redirect_uri))
    response["session_state"] = session_state(
        request.client.id,
        origin,
        browser_state(public_sub, provider.issuer, session.browser_salt),
        random_string(32),
    )
    outcome = respond(request.redirect_uri, response, request.response_mode)
    outcome.cookies.extend(session_cookies)
    return outcome


def _includes_auth_time(request: AuthorizeRequest) -> bool:
    """Core §2: with max_age (the client's default_max_age too), when asked for in claims, when
    the client registered require_auth_time; with an acr it always comes along."""
    return (
        request.max_age is not None
        or wants_auth_time(request.claims)
        or request.client.require_auth_time
    )


def _acr(provider: Provider, request: AuthorizeRequest, authenticated: Authenticated) -> str:
    """The acr the tokens report; none unless the request or the client asked for one."""
    if not request.acr.asked:
        return ""
    achieved = level_of(authenticated.logon.amr)
    return reported_acr(achieved, request.acr.values, provider.acr)


def _authorized_claims(request: AuthorizeRequest) -> dict[str, Any] | None:
    """The claims request access tokens carry (`kc.authorizedClaims`, read by kwmserver for
    `passthru`): only what the client signed in a verified request object."""
    signed = request.request_object.get("claims") if request.request_object else None
    return signed if isinstance(signed, dict) else None


def _response_params(provider: Provider, request: AuthorizeRequest, grant: Grant) -> dict[str, str]:
    params: dict[str, str] = {}
    tokens = provider.tokens
    parts = request.response_type.split()
    code = tokens.code(grant) if "code" in parts else None
    access_token = tokens.access_token(grant) if "token" in parts else None
    if code:
        params["code"] = code
    if access_token:
        params["access_token"] = access_token
        params["token_type"] = "Bearer"
        params["expires_in"] = str(tokens.access_lifetime(grant))
    if "id_token" in parts:
        params["id_token"] = tokens.id_token(grant, access_token=access_token, code=code)
    if access_token or "id_token" in parts:
        _issued(provider, request, grant, "hybrid" if code else "implicit")
    if request.state:
        params["state"] = request.state
    params["scope"] = " ".join(grant.scopes)
    params["iss"] = provider.issuer
    return params


def _issued(provider: Provider, request: AuthorizeRequest, grant: Grant, flow: str) -> None:
    """Tokens issued at the authorization endpoint, reported like those of the token endpoint."""
    client = request.client
    alg = provider.keys.signing_alg_for(None)
    scopes = " ".join(grant.scopes)
    provider.events.token_issued(
        flow, client.id, not client.verified, alg, scopes, grant.user.username
    )


async def authorized(
    provider: Provider,
    request: AuthorizeRequest,
    authenticated: Authenticated,
    scopes: tuple[str, ...],
    cookies: Mapping[str, str],
) -> Outcome:
    """The successful response; signed tokens are made on the signing workers."""
    if request.response_type == "code":
        return success(provider, request, authenticated, scopes, cookies)
    return await provider.signing(
        lambda: success(provider, request, authenticated, scopes, cookies)
    )
