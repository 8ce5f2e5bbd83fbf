"""Users who exist only at an upstream authority (`allow_upstream_only_users`): a user source
beside the identity backend.

No backend can look such a user up again. Their claims are mapped from the authority's answer
at sign-in and travel sealed with everything that follows: the sign-in cookie, codes, refresh
tokens and access tokens. Later uses (authorization, refresh, userinfo, Jitsi) answer from
what was granted, while the authority is still configured to admit such users; a registry
without it (after a reload) ends them.

Their subjects live in a namespace of their own: the raw subject (`kc.i.id`) is the
upstream's issuer and subject hashed, and the provider tag that the public `sub` is hashed
with is `UPSTREAM_PROVIDER`, which no backend uses. So a `sub` never equals a local user's,
even where the upstream's subject or user name equals one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from konnect.crypto import public_subject
from konnect.identity.base import User

#: The provider tag (`kc.provider`, and the key of the `sub` hash) of upstream-only users.
UPSTREAM_PROVIDER = "identifier-upstream"


def upstream_subject(issuer: str, subject: str) -> str:
    """The raw subject of the user `subject` of the upstream `issuer`: stable for as long as
    the upstream keeps both (OpenID Connect Core §5.7), whichever authority entry names it."""
    return public_subject(json.dumps([issuer, subject]), UPSTREAM_PROVIDER)


class UpstreamUsers:
    """Which authorities admit users who exist only there."""

    def __init__(self, authorities: Iterable[str] = ()) -> None:
        self._admitting = frozenset(authorities)

    def admits(self, authority: str) -> bool:
        return authority in self._admitting

    def current(self, user: User | None) -> User | None:
        """The user as granted, while their authority still admits upstream-only users."""
        if user is None or not self.admits(user.authority):
            return None
        return user


def provider_tag(user: User, backend_name: str) -> str:
    """The tag a user's public `sub` is hashed with: their backend's name, or
    `UPSTREAM_PROVIDER` for a user who exists only upstream."""
    return UPSTREAM_PROVIDER if user.authority else backend_name
