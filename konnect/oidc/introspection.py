"""Token revocation (RFC 7009) and introspection (RFC 7662) over the grant families.

Revoking any token of a grant (its refresh token or one of its access tokens) revokes the
whole grant in the StateStore, so it holds on every instance. A client learns about its own
tokens only; a registry client marked `resource_server: yes` also about every access token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from konnect.clients import ClientRegistration
from konnect.keys import InvalidToken
from konnect.oidc.claims import authentication_claims
from konnect.oidc.provider import Provider
from konnect.oidc.tokens import grant_id_of


@dataclass(frozen=True)
class TokenFacts:
    """What a presented token is: its grant, owner and the claims introspection reports."""

    grant_id: str
    client_id: str
    details: dict[str, Any]


def identify(provider: Provider, token: str) -> TokenFacts | None:
    """A refresh token or an access token of ours that has not expired; None otherwise."""
    opened = provider.tokens.open_refresh_token(token)
    if opened is not None:
        grant = opened.grant
        details = {
            "scope": " ".join(grant.scopes),
            "client_id": grant.client_id,
            "exp": opened.expires_at,
            "token_type": "refresh_token",
            **authentication_claims(grant),
        }
        return TokenFacts(grant.grant_id, grant.client_id, details)
    try:
        claims = provider.keys.verify(token, now=provider.now())
    except InvalidToken:
        return None
    if claims.get("kc.isAccessToken") is not True or claims.get("iss") != provider.issuer:
        return None
    client_id = str(claims.get("aud", ""))
    scopes = claims.get("kc.authorizedScopes")
    details = {
        "scope": " ".join(str(scope) for scope in scopes) if isinstance(scopes, list) else "",
        "client_id": client_id,
        "token_type": "Bearer",
        **{
            name: claims[name]
            for name in ("sub", "aud", "iss", "exp", "iat", "jti", "amr", "acr", "auth_time")
            if name in claims
        },
    }
    return TokenFacts(grant_id_of(str(claims.get("jti", ""))), client_id, details)


async def revoke(provider: Provider, client: ClientRegistration, token: str) -> None:
    """RFC 7009 §2.2: invalid or foreign tokens are answered like revoked ones."""
    facts = identify(provider, token)
    if facts is None or facts.client_id != client.id:
        provider.events.revocation(client.id, "unknown_token")
        return
    await provider.lifecycle.revoke(facts.grant_id, "revoked by the client")
    provider.events.revocation(client.id, "revoked")


def may_introspect(client: ClientRegistration, facts: TokenFacts) -> bool:
    if facts.client_id == client.id:
        return True
    return client.resource_server and facts.details["token_type"] == "Bearer"


async def introspect(provider: Provider, client: ClientRegistration, token: str) -> dict[str, Any]:
    """RFC 7662 §2.2: a token the caller may not learn about is simply not active."""
    facts = identify(provider, token)
    active = (
        facts is not None
        and may_introspect(client, facts)
        and not await provider.lifecycle.is_revoked(facts.grant_id)
    )
    provider.events.introspection(client.id, active)
    return {"active": True, **facts.details} if active and facts else {"active": False}
