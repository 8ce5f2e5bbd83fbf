"""WebAuthn credentials of an account: setting one up, answering a pending sign-in with
one (a security key: user presence is enough), and signing in with a passkey alone (the
user must be verified).

Every challenge is claimed once in the state store before its answer is checked. The
asserted credential must belong to the pending user; a passkey's returned user handle must
be the account's. A signature counter may stay at zero for authenticators without one;
otherwise it must grow, by the store's single conditional update.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from konnect.mfa.factors import SecondFactors, Verdict
from konnect.mfa.model import KIND_WEBAUTHN, Account, Factor, RowRef
from konnect.mfa.webauthn import (
    CHALLENGE_MAX_AGE,
    PASSKEY,
    REGISTER,
    SECOND_FACTOR,
    USER_HANDLE_SIZE,
    Challenge,
    RelyingParty,
    StoredCredential,
    authentication_options,
    credential_id_of,
    registration_options,
    verify_assertion,
    verify_registration,
)

__all__ = ["PASSKEY", "REGISTER", "SECOND_FACTOR", "Challenge", "Passkeys", "RelyingParty"]


class Passkeys:
    """WebAuthn beside the other second factors, for one relying party."""

    def __init__(self, factors: SecondFactors, rp: RelyingParty, clock: Callable[[], float]):
        self.factors = factors
        self.rp = rp
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    async def _credentials(self, account: Account) -> list[tuple[Factor, StoredCredential]]:
        found = []
        for factor in await self.factors.credentials.factors(account, KIND_WEBAUTHN):
            stored = self._open(factor)
            if stored is not None:
                found.append((factor, stored))
        return found

    def _open(self, factor: Factor) -> StoredCredential | None:
        opened = self.factors.sealer.open(factor.ref, factor.secret)
        return StoredCredential.unseal(opened) if opened is not None else None

    async def _claim(self, challenge: Challenge) -> bool:
        return await self.factors.state.claim("mfa:challenge:" + challenge.id, CHALLENGE_MAX_AGE)

    # -- setting one up --------------------------------------------------------------------------
    async def registration(
        self, account: Account, pending_id: str, username: str, display_name: str
    ) -> tuple[Challenge, dict[str, Any]]:
        """A challenge and the options to create a credential; the account keeps one random
        user handle for all its credentials."""
        credentials = await self._credentials(account)
        handle = (
            credentials[0][1].user_handle if credentials else secrets.token_bytes(USER_HANDLE_SIZE)
        )
        challenge = Challenge.new(REGISTER, pending_id, self._now(), handle)
        existing = [factor.ref.id for factor, _ in credentials]
        options = registration_options(self.rp, challenge, handle, username, display_name, existing)
        return challenge, options

    async def enrol(
        self, account: Account, challenge: Challenge, credential: dict[str, Any], name: str = ""
    ) -> list[str] | None:
        """Store the credential that answers the challenge (claimed once); the new recovery
        codes when it is the user's first factor, else []. None: not stored."""
        if not await self._claim(challenge):
            return None
        created = verify_registration(self.rp, credential, challenge)
        if created is None:
            return None
        first = not await self.factors.methods(account)
        now = self._now()
        ref = RowRef(KIND_WEBAUTHN, account, created.id)
        stored = StoredCredential(created.public_key, challenge.user_handle, created.user_verified)
        sealed = self.factors.sealer.seal(ref, stored.seal())
        if not await self.factors.credentials.add(
            Factor(ref, name, sealed, now, now, created.sign_count)
        ):
            return None
        if first and "recovery" in self.factors.policy.methods:
            return await self.factors.new_recovery_codes(account)
        return []

    # -- a security key as the second factor ----------------------------------------------------
    async def second_factor_options(
        self, account: Account, pending_id: str
    ) -> tuple[Challenge, dict[str, Any]]:
        challenge = Challenge.new(SECOND_FACTOR, pending_id, self._now())
        allowed = [factor.ref.id for factor, _ in await self._credentials(account)]
        return challenge, authentication_options(self.rp, challenge, allowed, verify_user=False)

    async def check(
        self, account: Account, pending_id: str, challenge: Challenge, credential: dict[str, Any]
    ) -> Verdict:
        """One answer to a pending sign-in, counted as any other second factor."""

        async def right() -> bool:
            if "webauthn" not in self.factors.policy.methods or not await self._claim(challenge):
                return False
            credential_id = credential_id_of(credential)
            for factor, stored in await self._credentials(account):
                # Only the pending user's own credentials are tried.
                if factor.ref.id == credential_id:
                    return await self._asserted(factor, stored, challenge, credential, False)
            return False

        return await self.factors.counted(account, pending_id, right, lockable=False)

    async def _asserted(
        self,
        factor: Factor,
        stored: StoredCredential,
        challenge: Challenge,
        credential: dict[str, Any],
        verify_user: bool,
    ) -> bool:
        assertion = verify_assertion(self.rp, credential, challenge, stored.public_key, verify_user)
        if assertion is None:
            return False
        if assertion.user_handle and assertion.user_handle != stored.user_handle:
            return False
        if assertion.sign_count == 0:
            # An authenticator without a counter; one that had counted may not fall back to 0.
            return factor.counter <= 0
        return await self.factors.credentials.accept_counter(
            factor.ref, assertion.sign_count, self._now()
        )

    # -- a passkey as the first factor ---------------------------------------------------------
    def passkey_options(self) -> tuple[Challenge, dict[str, Any]]:
        """Options for a passkey sign-in: any discoverable credential, the user verified."""
        challenge = Challenge.new(PASSKEY, "", self._now())
        return challenge, authentication_options(self.rp, challenge, [], verify_user=True)

    async def passkey_account(
        self, challenge: Challenge, credential: dict[str, Any]
    ) -> Account | None:
        """The account whose passkey answered the challenge (claimed once) with the user
        verified and the account's user handle; None otherwise."""
        if "webauthn" not in self.factors.policy.methods or not await self._claim(challenge):
            return None
        credential_id = credential_id_of(credential)
        if credential_id is None:
            return None
        factor = await self.factors.credentials.find(KIND_WEBAUTHN, credential_id)
        stored = self._open(factor) if factor is not None else None
        if factor is None or stored is None:
            return None
        response = credential.get("response")
        if not isinstance(response, dict) or not response.get("userHandle"):
            return None
        if not await self._asserted(factor, stored, challenge, credential, True):
            return None
        return factor.ref.account
