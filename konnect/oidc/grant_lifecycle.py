"""The lifecycle of a grant in the state store: its code works once, its refresh tokens
rotate, reuse revokes it, a client may revoke it, and every token of it asks whether it was.

Endpoints ask this module, never the store. The keys it owns: `code:<code id>` (a code was
redeemed), `family:<grant id>` (the current refresh token of a grant), `revoked:<grant id>`.

An unreachable store: every rule here fails closed, raising `StateStoreUnavailable` (the
endpoints answer `503 temporarily_unavailable`), except the one check a caller asks for
with `available=True`, which logs and lets a valid token through.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from authlib.oauth2.rfc6749.errors import InvalidGrantError

from konnect.oidc.grants import Grant
from konnect.oidc.tokens import OpenedToken
from konnect.state import StateStore, StateStoreUnavailable

_CODE, _FAMILY, _REVOKED = "code:", "family:", "revoked:"


class GrantLifecycle:
    """The grant-state rules over one StateStore; `refresh_lifetime` bounds every record."""

    def __init__(
        self,
        store: StateStore,
        refresh_lifetime: int,
        clock: Callable[[], float],
        log: logging.Logger,
    ) -> None:
        self._store = store
        self._ttl = refresh_lifetime
        self._clock = clock
        self._log = log

    async def redeem_code(self, code: OpenedToken) -> None:
        """A code works once; a second use revokes everything the first one issued."""
        # The single-use mark only has to outlive the code; the revocation, every token of it.
        code_ttl = max(code.expires_at - int(self._clock()), 1)
        if not await self._store.claim(_CODE + code.token_id, code_ttl):
            await self._revoke_reused(code.grant, "authorization code reused")
            raise InvalidGrantError("the code has already been used")

    async def start_family(self, grant: Grant) -> None:
        """Remember which refresh token of this grant is the current one."""
        await self._store.put(_FAMILY + grant.grant_id, grant.next_refresh_id, self._ttl)

    async def rotate(self, used: OpenedToken, grant: Grant) -> None:
        """Only the current refresh token works, once; replaying an old one revokes the family."""
        family = _FAMILY + grant.grant_id
        if await self._store.swap(family, used.token_id, grant.next_refresh_id, self._ttl):
            return
        # No record at all (an in-process store after a restart): this token starts it anew.
        if not await self._store.swap(family, None, grant.next_refresh_id, self._ttl):
            await self._revoke_reused(grant, "refresh token reused")
            raise InvalidGrantError("the refresh token has already been used")

    async def revoke(self, grant_id: str, reason: str) -> None:
        """Revoke the whole grant: its refresh tokens and its access tokens, everywhere."""
        await self._store.put(_REVOKED + grant_id, reason, self._ttl)

    async def is_revoked(self, grant_id: str, *, available: bool = False) -> bool:
        """Whether the grant was revoked. With `available`, an unreachable store answers
        "not revoked" (logged) instead of failing the request."""
        try:
            return await self._store.get(_REVOKED + grant_id) is not None
        except StateStoreUnavailable as exc:
            if not available:
                raise
            self._log.warning("revocation check skipped, state store unavailable: %s", exc)
            return False

    async def _revoke_reused(self, grant: Grant, reason: str) -> None:
        await self.revoke(grant.grant_id, reason)
        self._log.warning("%s by client %s: grant revoked", reason, grant.client_id)
