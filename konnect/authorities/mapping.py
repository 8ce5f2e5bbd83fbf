"""Who an upstream sign-in is here: an authority's claims mapped to a konnect user, the same for
every kind of authority (claims of an OpenID Connect ID token; for SAML, the attributes with
the issuer and a persistent name id as `iss` and `sub`).

The identity claim (`identity_claim_name`, then `identity_aliases`) names a local user, who is
looked up in the identity backend and keeps their own `sub` and claims (an aliased name is
always a local user's). When there is none, an
authority with `allow_upstream_only_users` signs the person in as a user who exists only
upstream: claims mapped as `upstream_user_claims` says, the subject derived from the
upstream's `iss` and `sub` (see `konnect.identity.upstream_users`). Such a user may not carry
a local user's name, so relying parties that key on the user name cannot mistake one for the
other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from konnect.identity import BackendUnavailable, User, UsernameLookup, upstream_subject
from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider

#: The user fields an upstream-only user's claims fill, with the upstream claim each is read
#: from unless `upstream_user_claims` says otherwise (`username`: the identity claim).
DEFAULT_CLAIMS = {
    "name": "name",
    "given_name": "given_name",
    "family_name": "family_name",
    "email": "email",
    "email_verified": "email_verified",
    "groups": "groups",
}
USER_FIELDS = ("username", *DEFAULT_CLAIMS)
#: Larger values are dropped, so that the sign-in cookie, which carries the user, stays
#: within the 4 KiB browsers keep. Sizes as sealed: JSON, where a non-ASCII character takes 6.
MAX_CLAIM_SIZE = 200
MAX_GROUPS_SIZE = 512
NOT_ALLOWED = "this account may not sign in here"
NO_LOCAL_USER = "this account has no user here"
NAME_TAKEN = "this account's user name belongs to a local user"


@dataclass(frozen=True)
class UserMapping:
    """How one authority's claims name a user here."""

    authority: str
    identity_claim: str
    aliases: Mapping[str, str] = field(default_factory=dict)
    alias_required: bool = False
    upstream_only_users: bool = False
    claims: Mapping[str, str] = field(default_factory=dict)  # user field -> upstream claim

    def claim_for(self, user_field: str) -> str:
        """The upstream claim an upstream-only user's `user_field` is read from."""
        default = self.identity_claim if user_field == "username" else DEFAULT_CLAIMS[user_field]
        return self.claims.get(user_field) or default


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
    if local is not None:
        return local
    if alias or not mapping.upstream_only_users:  # an alias always means a local user
        raise OAuthError("access_denied", NO_LOCAL_USER, detail=f"no local user {local_name!r}")
    user = upstream_user(mapping, claims)
    if user.username != local_name and await _local_user(provider, user.username) is not None:
        raise OAuthError("access_denied", NAME_TAKEN, detail=f"user name {user.username!r}")
    return user


def upstream_user(mapping: UserMapping, claims: Mapping[str, Any]) -> User:
    """The user who exists only upstream that `claims` describe (needs `iss`, `sub` and a
    user name)."""
    issuer, subject = _string(claims.get("iss")), _string(claims.get("sub"))
    username = _text(claims.get(mapping.claim_for("username")))
    if not (issuer and subject and username):
        raise OAuthError("access_denied", NOT_ALLOWED, detail="no iss, sub or user name")

    def text(user_field: str) -> str:
        return _text(claims.get(mapping.claim_for(user_field)))

    return User(
        subject=upstream_subject(issuer, subject),
        username=username,
        name=text("name"),
        given_name=text("given_name"),
        family_name=text("family_name"),
        email=text("email"),
        email_verified=_verified(claims.get(mapping.claim_for("email_verified"))),
        groups=_groups(claims.get(mapping.claim_for("groups"))),
        authority=mapping.authority,
    )


async def _local_user(provider: Provider, username: str) -> User | None:
    backend = provider.backend
    if not isinstance(backend, UsernameLookup):
        raise OAuthError("access_denied", NOT_ALLOWED, detail="the backend cannot look up names")
    try:
        return await backend.lookup_username(username)
    except BackendUnavailable as exc:
        provider.log.debug("upstream sign-in unavailable: %s", exc)
        raise OAuthError("temporarily_unavailable", "sign-in is temporarily unavailable") from None


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _text(value: Any) -> str:
    text = _string(value).strip()
    return text if _size(text) <= MAX_CLAIM_SIZE else ""


def _size(text: str) -> int:
    return len(json.dumps(text)) - 2


def _verified(value: Any) -> bool:
    """Some providers send the boolean as a string."""
    return value is True or value == "true"


def _groups(value: Any) -> tuple[str, ...]:
    """The group names of a list (or a single name), as many as fit."""
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    kept: list[str] = []
    room = MAX_GROUPS_SIZE
    for name in names:
        group = _text(name)
        if group and _size(group) <= room:
            kept.append(group)
            room -= _size(group)
    return tuple(kept)
