"""The userinfo rules: which token is acceptable, and what the response says about the user."""

from __future__ import annotations

from typing import Any

from konnect.identity import UPSTREAM_PROVIDER, BackendUnavailable, User
from konnect.keys import InvalidToken
from konnect.observe.events import backend_label
from konnect.oidc.claims import GUEST_PROVIDER, guest_from_identity, subject_for, user_claims
from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider
from konnect.oidc.signin_sessions import cookie_session_user
from konnect.oidc.tokens import grant_id_of
from konnect.state import StateStoreUnavailable


def bearer_token(authorization: str | None, form: dict[str, str] | None = None) -> str:
    """The token of an `Authorization: Bearer` header (RFC 6750 §2.1), or of a form body's
    `access_token` (§2.2); never both."""
    body_token = (form or {}).get("access_token")
    if authorization and body_token:
        raise OAuthError("invalid_request", "send the token in one place only")
    if body_token:
        return body_token
    if not authorization:
        raise OAuthError("invalid_request", "bearer authorization required")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise OAuthError("invalid_request", "invalid bearer authorization header format")
    return token


async def _is_revoked(provider: Provider, grant_id: str) -> bool:
    try:
        return await provider.lifecycle.is_revoked_at_userinfo(grant_id)
    except StateStoreUnavailable:
        raise OAuthError(
            "temporarily_unavailable", "cannot check the token now, try again later"
        ) from None


def signed_response(provider: Provider, claims: dict[str, Any], client_id: str) -> str | None:
    """Userinfo as a JWT for clients registered with `userinfo_signed_response_alg`."""
    client = provider.clients.get(client_id)
    if client is None or not client.userinfo_signed_response_alg:
        return None
    document = {**claims, "iss": provider.issuer, "aud": client_id}
    return provider.keys.sign(document, client.userinfo_signed_response_alg)


async def _lookup(provider: Provider, subject: str, identity: dict[str, Any]) -> User | None:
    backend = provider.browser_sign_in
    if backend is None:
        timed = provider.events.backend_call(
            backend_label(provider.backend), "lookup", BackendUnavailable
        )
        async with timed:
            return await provider.backend.lookup(subject)
    sealed = identity.get("kc.i.cs")
    session = provider.tokens.open_session(sealed) if isinstance(sealed, str) else None
    return await cookie_session_user(provider, backend, subject, session) if session else None


async def _token_user(provider: Provider, source: str, identity: dict[str, Any]) -> User:
    """The user an access token names: guests and upstream-only users from the token itself,
    others from the backend."""
    if source == GUEST_PROVIDER and provider.guests.enabled:
        guest = guest_from_identity(identity)
        if guest is None:
            raise OAuthError("invalid_token", "the token names no known user")
        return guest
    if source == UPSTREAM_PROVIDER:
        granted = provider.tokens.open_upstream_user(identity.get("kc.i.us"))
        upstream_user = provider.upstream_users.current(granted)
        if upstream_user is None:
            raise OAuthError("invalid_token", "the token names no known user")
        return upstream_user
    subject = identity.get("kc.i.id")
    if source != provider.backend.name or not isinstance(subject, str):
        raise OAuthError("invalid_token", "the token names no known user")
    try:
        user = await _lookup(provider, subject, identity)
    except BackendUnavailable:
        raise OAuthError(
            "temporarily_unavailable", "the user directory is unavailable, try again later"
        ) from None
    if user is None:
        raise OAuthError("invalid_token", "the user no longer exists")
    return user


async def userinfo_claims(provider: Provider, token: str) -> tuple[dict[str, Any], str]:
    """The userinfo claims for an access token, and the client it was issued to."""
    try:
        claims = provider.keys.verify(token, now=provider.now())
    except InvalidToken as exc:
        raise OAuthError("invalid_token", str(exc)) from None
    if claims.get("kc.isAccessToken") is not True or claims.get("iss") != provider.issuer:
        raise OAuthError("invalid_token", "not an access token of this provider")
    grant_id = grant_id_of(str(claims.get("jti", "")))
    if await _is_revoked(provider, grant_id):
        raise OAuthError("invalid_token", "the token has been revoked")
    identity = claims.get("kc.identity")
    identity = identity if isinstance(identity, dict) else {}
    source = str(claims.get("kc.provider"))
    user = await _token_user(provider, source, identity)
    raw_scopes = claims.get("kc.authorizedScopes")
    scopes = [str(scope) for scope in raw_scopes] if isinstance(raw_scopes, list) else []
    response = {"sub": subject_for(user, source, scopes), **user_claims(user, scopes)}
    return response, str(claims.get("aud", ""))
