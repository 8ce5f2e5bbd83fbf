"""The `id_token_hint` (OpenID Connect Core §3.1.2.1, RP-Initiated Logout §2): an ID token
this provider issued, checked once here for the authorization and end session endpoints.

Its signature and issuer are checked, its expiry is not (a hint may be an old token), and
only an ID token counts: konnect's other JWTs are never hints. A hint names a user by the
subject konnect keeps or by the public `sub` it derives from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from konnect.crypto import public_subject
from konnect.keys import InvalidToken
from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider


def verified_hint(provider: Provider, hint: str) -> dict[str, Any]:
    """An ID token we issued, as a hint: signature and issuer checked, expiry ignored."""
    try:
        claims = provider.keys.verify(hint, check_exp=False, now=provider.now())
    except InvalidToken as exc:
        raise OAuthError("invalid_request", "id_token_hint is invalid", detail=str(exc)) from None
    if claims.get("iss") != provider.issuer or not isinstance(claims.get("sub"), str):
        raise OAuthError("invalid_request", "id_token_hint was not issued by this provider")
    if not _is_id_token(claims):
        raise OAuthError("invalid_request", "id_token_hint must be an ID token")
    return claims


def hint_claims(provider: Provider, params: Mapping[str, str]) -> dict[str, Any] | None:
    """The verified claims of the request's id_token_hint, None without one."""
    hint = params.get("id_token_hint")
    return None if hint is None else verified_hint(provider, hint)


def hint_names(hinted_subject: object, subject: str, provider_name: str) -> bool:
    """Whether a hint's `sub` names the user `subject` of the identity provider
    `provider_name`."""
    return hinted_subject in (subject, public_subject(subject, provider_name))


def _is_id_token(claims: Mapping[str, Any]) -> bool:
    """Our other JWTs (access tokens, logout tokens, signed userinfo) are never hints."""
    other_kinds = ("kc.isAccessToken", "kc.identity", "events")
    return (
        not any(name in claims for name in other_kinds)
        and isinstance(claims.get("exp"), int)
        and isinstance(claims.get("iat"), int)
        and isinstance(claims.get("aud"), str | list)
    )
