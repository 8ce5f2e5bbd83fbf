"""Who an upstream sign-in is here: an authority's claims mapped to a konnect user, the same for
every kind of authority.

The identity claim (`identity_claim_name`, then `identity_aliases`) names a local user, who is
looked up in the identity backend, so `sub` and claims stay konnect's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from konnect.identity import BackendUnavailable, User, UsernameLookup
from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider

NOT_ALLOWED = "this account may not sign in here"


@dataclass(frozen=True)
class UserMapping:
    """How one authority's claims name a user here."""

    authority: str
    identity_claim: str
    aliases: Mapping[str, str] = field(default_factory=dict)
    alias_required: bool = False


async def mapped_user(provider: Provider, mapping: UserMapping, claims: Mapping[str, Any]) -> User:
    """The user the authority's `claims` sign in here; OAuthError for the relying party when
    no one may sign in with them."""
    value = claims.get(mapping.identity_claim)
    identity = value if isinstance(value, str) else ""
    alias = mapping.aliases.get(identity) if identity else None
    if mapping.alias_required and not alias:
        raise OAuthError("access_denied", NOT_ALLOWED, detail="not an aliased user")
    local_name = alias or identity
    local = await _local_user(provider, local_name) if local_name else None
    if local is None:
        raise OAuthError("access_denied", NOT_ALLOWED, detail=f"no local user {local_name!r}")
    return local


async def _local_user(provider: Provider, username: str) -> User | None:
    backend = provider.backend
    if not isinstance(backend, UsernameLookup):
        raise OAuthError("access_denied", NOT_ALLOWED, detail="the backend cannot look up names")
    try:
        return await backend.lookup_username(username)
    except BackendUnavailable as exc:
        provider.log.debug("upstream sign-in unavailable: %s", exc)
        raise OAuthError("temporarily_unavailable", "sign-in is temporarily unavailable") from None
