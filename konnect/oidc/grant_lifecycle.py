"""The lifecycle of a grant in the state store: its code works once, its refresh tokens
rotate, reuse revokes it, a client may revoke it, and every token of it asks whether it was.
A refresh must still meet what the client requires of a sign-in (`check_refresh_level`), and
its sign-in must not predate its account's epoch (`check_refresh_epoch`).
The one-time proofs a grant is asked for with (a client assertion's or a guest request
object's `jti`) are accepted once here too.

Endpoints ask this module, never the store. The keys it owns: `code:<code id>` (a code was
redeemed), `family:<grant id>` (the current refresh token of a grant, the one it replaced and
when), `revoked:<grant id>`, `jti:<client id>:<jti>` (a client assertion was used) and
`guest-jti:<client id>:<jti>` (a guest request object was used). A refresh token whose family
record is missing is refused: the record is the only proof that the token was not rotated
away (and its family revoked) before the store lost it.

An unreachable store: every rule here fails closed, raising `StateStoreUnavailable` (the
endpoints answer `503 temporarily_unavailable`; a guest is refused, as not signed in); so
does a refresh whose account epoch the credential store cannot tell. The one
exception is an operator's choice: with `userinfo_revocation_check = available` userinfo's
revocation check logs and lets a valid token through.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from konnect.clients import ClientRegistration
from konnect.identity import UPSTREAM_PROVIDER
from konnect.observe import Events
from konnect.oidc.acr import MFA, SFA, level_of, rank
from konnect.oidc.claims import GUEST_PROVIDER
from konnect.oidc.errors import OAuthError
from konnect.oidc.grants import Grant
from konnect.oidc.tokens import OpenedToken
from konnect.state import StateStore, StateStoreUnavailable

_CODE, _FAMILY, _REVOKED = "code:", "family:", "revoked:"
_ASSERTION_JTI, _GUEST_JTI = "jti:", "guest-jti:"
_ANSWERED = "answered"
#: Compare-and-set rounds a rotation tries while other requests rotate the same family.
_ROTATION_ATTEMPTS = 5


@dataclass(frozen=True)
class GrantPolicy:
    """What operators choose about grants."""

    # Seconds in which the refresh token just replaced is answered again without revoking
    # the family: relying parties that refresh from several processes at once.
    refresh_reuse_interval: int = 60
    # Whether userinfo answers for a valid access token while the store is unreachable.
    userinfo_available_without_store: bool = False


def client_requirement(client: ClientRegistration, mfa_on: bool) -> str:
    """The level the client requires of every sign-in now: multi-factor for a client with
    `mfa: required` while multi-factor sign-in is on, else any sign-in."""
    return MFA if mfa_on and client.mfa == "required" else SFA


def check_refresh_level(grant: Grant, client: ClientRegistration, mfa_on: bool) -> None:
    """A grant whose sign-in is below what the client requires now is not refreshed: the
    user signs in again at the level it asks for. Guests and upstream sign-ins are not asked
    for a second factor here, so their grants are not held to it either."""
    if grant.provider in (GUEST_PROVIDER, UPSTREAM_PROVIDER):
        return
    if rank(level_of(grant.amr)) < rank(client_requirement(client, mfa_on)):
        raise OAuthError("invalid_grant", "the sign-in is below what the client requires")


def check_refresh_epoch(grant: Grant, account_epoch: int) -> None:
    """A grant signed in before its account's epoch was raised (the user's factors were
    reset and their sessions revoked) is not refreshed: the user signs in again."""
    if grant.epoch < account_epoch:
        raise OAuthError("invalid_grant", "the sign-in of this grant has been revoked")


def _redemption_proof(client_id: str, code_verifier: str) -> str:
    return hashlib.sha256(f"{client_id}\n{code_verifier}".encode()).hexdigest()


@dataclass(frozen=True)
class _Family:
    """A family record: the current refresh token id, the one it replaced, and when."""

    current: str
    previous: str = ""
    rotated_at: float = 0.0

    @classmethod
    def parse(cls, record: str) -> _Family:
        current, _, rest = record.partition(" ")
        previous, _, rotated_at = rest.partition(" ")
        try:
            return cls(current, previous, float(rotated_at or 0))
        except ValueError:
            return cls(current)

    def encode(self) -> str:
        return f"{self.current} {self.previous} {self.rotated_at:.3f}"


class GrantLifecycle:
    """The grant-state rules over one StateStore; `refresh_lifetime` bounds every record."""

    def __init__(
        self,
        store: StateStore,
        refresh_lifetime: int,
        clock: Callable[[], float],
        log: logging.Logger,
        policy: GrantPolicy | None = None,
        events: Events | None = None,
    ) -> None:
        self._store = store
        self._events = events or Events()
        self._ttl = refresh_lifetime
        self._clock = clock
        self._log = log
        self.policy = policy or GrantPolicy()

    async def redeem_code(self, code: OpenedToken, client_id: str, code_verifier: str) -> str:
        """Claim the code's single use; the id its first refresh token gets.

        The claim holds a proof of who redeems it (the client and its PKCE verifier) until
        the tokens are answered (`code_answered`). A request answered 503 because the store
        timed out may still take effect later: the same client's retry then finds its own
        unanswered claim and is answered normally. A use after an answer, or anyone else's,
        is a replay and revokes everything the first use issued."""
        key, proof = _CODE + code.token_id, _redemption_proof(client_id, code_verifier)
        # The single-use mark only has to outlive the code; the revocation, every token of it.
        if not await self._store.claim(key, self._code_ttl(code), proof):
            if await self._store.get(key) != proof:
                await self._revoke_reused(code.grant, "authorization code reused")
                raise OAuthError("invalid_grant", "the code has already been used")
            if await self.is_revoked(code.grant.grant_id):
                raise OAuthError("invalid_grant", "the code has already been used")
        # The same for every redemption of this code, so a retry answers like the first.
        return code.token_id

    async def code_answered(self, code: OpenedToken, client_id: str, code_verifier: str) -> None:
        """The code's tokens are being answered: from now on any use of it is a replay. If
        the store fails here the tokens are answered all the same (and logged)."""
        key, proof = _CODE + code.token_id, _redemption_proof(client_id, code_verifier)
        try:
            await self._store.swap(key, proof, _ANSWERED, self._code_ttl(code))
        except StateStoreUnavailable as exc:
            self._log.warning("code answered without its answered mark: %s", exc)

    def _code_ttl(self, code: OpenedToken) -> float:
        return max(code.expires_at - int(self._clock()), 1)

    async def start_family(self, grant: Grant) -> None:
        """Remember the grant's first refresh token as the current one; a retried code
        redemption leaves a family that has rotated since as it is."""
        record = _Family(grant.next_refresh_id).encode()
        await self._store.claim(_FAMILY + grant.grant_id, self._ttl, record)

    async def rotate(self, used: OpenedToken, grant: Grant) -> str:
        """The id of the refresh token to answer `used` with. Only the current refresh token
        rotates; the one it replaced is answered with the current id again within the reuse
        interval; any other (or the replaced one later) is a replay that revokes the family."""
        family = _FAMILY + grant.grant_id
        for _ in range(_ROTATION_ATTEMPTS):
            record = await self._store.get(family)
            if record is None:
                self._log.warning(
                    "refresh token of client %s refused: its grant's family record is missing",
                    grant.client_id,
                )
                raise OAuthError(
                    "invalid_grant", "the refresh token is no longer valid, sign in again"
                )
            known, now = _Family.parse(record), self._clock()
            if used.token_id == known.current:
                rotated = _Family(grant.next_refresh_id, used.token_id, now).encode()
                if await self._store.swap(family, record, rotated, self._ttl):
                    return grant.next_refresh_id
                continue  # another request rotated it meanwhile: look again
            if used.token_id == known.previous and self._within_reuse_interval(known, now):
                return known.current
            await self._revoke_reused(grant, "refresh token reused")
            raise OAuthError("invalid_grant", "the refresh token has already been used")
        raise StateStoreUnavailable("the refresh-token family keeps changing")

    def _within_reuse_interval(self, family: _Family, now: float) -> bool:
        return now - family.rotated_at <= self.policy.refresh_reuse_interval

    async def revoke(self, grant_id: str, reason: str) -> None:
        """Revoke the whole grant: its refresh tokens and its access tokens, everywhere."""
        await self._store.put(_REVOKED + grant_id, reason, self._ttl)

    async def is_revoked(self, grant_id: str) -> bool:
        """Whether the grant was revoked."""
        return await self._store.get(_REVOKED + grant_id) is not None

    async def is_revoked_at_userinfo(self, grant_id: str) -> bool:
        """Whether userinfo must refuse the grant's access token; without the store the
        policy decides between failing closed and answering."""
        try:
            return await self.is_revoked(grant_id)
        except StateStoreUnavailable as exc:
            if not self.policy.userinfo_available_without_store:
                raise
            self._log.warning("revocation check skipped, state store unavailable: %s", exc)
            return False

    async def first_use_of_assertion(self, client_id: str, jti: str, ttl: float) -> bool:
        """RFC 7523 §3 item 7: whether a client assertion's `jti` is used for the first
        time, on every instance sharing the store; it is remembered `ttl` seconds."""
        return await self._store.claim(f"{_ASSERTION_JTI}{client_id}:{jti}", ttl)

    async def first_use_of_guest_object(self, client_id: str, jti: str, ttl: float) -> bool:
        """Whether a guest request object's `jti` is used for the first time, on every
        instance sharing the store; it is remembered `ttl` seconds."""
        return await self._store.claim(f"{_GUEST_JTI}{client_id}:{jti}", ttl)

    async def _revoke_reused(self, grant: Grant, reason: str) -> None:
        await self.revoke(grant.grant_id, reason)
        self._log.warning("%s by client %s: grant revoked", reason, grant.client_id)
        kind = "refresh_token" if reason.startswith("refresh") else "code"
        self._events.token_reuse(kind, grant.client_id, grant.user.username)
