"""Checking and enrolling second factors, with the failure rules of NIST SP 800-63B §5.2.2.

Every answer is counted before it is checked: in the state store per account (ten in 15
minutes, then 429) and per pending sign-in (the fifth wrong answer burns it), and in the
credential store as consecutive failures (after 100 in a row, OTP and recovery codes are
locked until an administrator unlocks them). A right answer gives the window's place back
and ends the run of consecutive failures.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from konnect.crypto import random_string
from konnect.mfa.epochs import AccountEpochs
from konnect.mfa.invitations import open_invitation
from konnect.mfa.model import (
    KIND_RECOVERY,
    KIND_TOTP,
    KIND_WEBAUTHN,
    Account,
    AccountState,
    Factor,
    RowRef,
)
from konnect.mfa.policy import (
    PENDING_MAX_AGE,
    REQUIRED,
    MfaPolicy,
    required_level,
    second_factor_current,
)
from konnect.mfa.recovery import new_recovery_codes, normalise_recovery_code
from konnect.mfa.sealing import FactorSealer
from konnect.mfa.store import CredentialStore
from konnect.mfa.totp import verify_totp
from konnect.state import StateStore
from konnect.state.counters import give_back

#: Answers per account in the window before 429.
ATTEMPTS_PER_WINDOW = 10
WINDOW = 900
#: Wrong answers that burn a pending sign-in.
ATTEMPTS_PER_PENDING = 5
#: Consecutive failures that lock OTP and recovery codes.
LOCK_AFTER = 100
#: Methods a stored factor kind answers as.
METHOD_OF_KIND = {KIND_TOTP: "totp", KIND_RECOVERY: "recovery", KIND_WEBAUTHN: "webauthn"}

if TYPE_CHECKING:
    from konnect.mfa.passkeys import Passkeys

log = logging.getLogger("konnect.mfa")


class Verdict(enum.Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    #: The pending sign-in had its last try: sign in again.
    BURNED = "burned"
    #: Too many answers for this account just now (429).
    THROTTLED = "throttled"
    #: Locked after too many consecutive failures, until an administrator unlocks.
    LOCKED = "locked"


def _account_key(account: Account) -> str:
    # Subjects may hold any character; the state store's key stays short and plain.
    digest = hashlib.sha256(json.dumps([account.backend, account.subject]).encode())
    return digest.hexdigest()[:32]


def is_locked(state: AccountState) -> bool:
    """Locked by the store, or with as many consecutive failures as lock an account."""
    return state.locked or state.failures >= LOCK_AFTER


class SecondFactors:
    """The MFA policy with its stores: what a user may answer with, checking an answer,
    and setting up a first authenticator app."""

    def __init__(
        self,
        policy: MfaPolicy,
        credentials: CredentialStore,
        sealer: FactorSealer,
        state: StateStore,
        clock: Callable[[], float],
    ) -> None:
        self.policy = policy
        self.credentials = credentials
        self.sealer = sealer
        self._state = state
        self._clock = clock
        self.epochs = AccountEpochs(credentials, clock)
        #: WebAuthn, when `webauthn` is among the methods (set up beside; py_webauthn is
        #: imported only then).
        self.passkeys: Passkeys | None = None

    def _now(self) -> int:
        return int(self._clock())

    @property
    def state(self) -> StateStore:
        """The state store, where single-use values are claimed."""
        return self._state

    async def methods(self, account: Account) -> tuple[str, ...]:
        """The policy's methods this user has a factor for (recovery codes only beside
        another factor); empty when the user has none."""
        kinds = {factor.ref.kind for factor in await self.credentials.factors(account)}
        methods = {METHOD_OF_KIND.get(kind, kind) for kind in kinds}
        if not methods - {"recovery"}:
            return ()
        return tuple(method for method in self.policy.methods if method in methods)

    async def may_enrol(self, account: Account, invitation: str) -> bool:
        """Whether a user without a factor may set one up now: always at `at_sign_in`, else
        only with an administrator's invitation for this account, claimed here once."""
        if self.policy.enrol_at_sign_in:
            return True
        now = self._now()
        invited = open_invitation(self.sealer, invitation, now)
        if invited is None or invited.account != account:
            return False
        return await self._state.claim("mfa:invitation:" + invited.id, invited.not_after - now)

    @staticmethod
    def account(backend: str, subject: str) -> Account:
        return Account(backend, subject)

    def level(
        self, groups: Iterable[str], client_level: str = "", requested_level: str = ""
    ) -> str:
        """The required level (see `policy.required_level`)."""
        return required_level(self.policy, groups, client_level, requested_level)

    def current(self, amr: Iterable[str], mfa_time: int) -> bool:
        """Whether a sign-in's second factor still counts (within `mfa_max_age`)."""
        return second_factor_current(amr, mfa_time, self._now(), self.policy.max_age)

    async def needed(
        self,
        account: Account,
        groups: Iterable[str],
        amr: Iterable[str],
        mfa_time: int,
        client_level: str = "",
        requested_level: str = "",
    ) -> bool:
        """Whether a sign-in by the methods `amr` (second factor last at `mfa_time`) must
        give a second factor now: the level is the strictest of the policy, the user's
        groups, the client's `mfa:` and `requested_level` (an essential acr, say)."""
        if self.current(amr, mfa_time):
            return False
        if self.level(groups, client_level, requested_level) == REQUIRED:
            return True
        return bool(await self.methods(account))

    async def check(self, account: Account, pending_id: str, method: str, answer: str) -> Verdict:
        """Check one typed answer (a TOTP or recovery code) to a pending sign-in."""
        if method not in self.policy.methods:
            return Verdict.WRONG
        return await self.counted(account, pending_id, lambda: self._right(account, method, answer))

    async def counted(
        self,
        account: Account,
        pending_id: str,
        verify: Callable[[], Awaitable[bool]],
        lockable: bool = True,
    ) -> Verdict:
        """Run `verify` (any second factor's check) under the failure rules: counted before
        it runs, refused without running when a limit is reached. Only `lockable` answers
        (OTP, recovery codes) are refused while the account is locked: a WebAuthn signature
        cannot be guessed, so a security key stays usable."""
        if lockable and is_locked(await self.credentials.account_state(account)):
            return Verdict.LOCKED
        window_key = "mfa:attempts:" + _account_key(account)
        if await self._state.increment(window_key, WINDOW) > ATTEMPTS_PER_WINDOW:
            return Verdict.THROTTLED
        tries = await self._state.increment("mfa:pending:" + pending_id, PENDING_MAX_AGE)
        if tries > ATTEMPTS_PER_PENDING:
            return Verdict.BURNED
        # Reserved as a failure first; LOCK_AFTER + 1: the lock falls on the attempt after
        # the hundredth failure in a row, so a right hundredth answer still counts.
        if (await self.credentials.record_failure(account, LOCK_AFTER + 1)).locked and lockable:
            return Verdict.LOCKED
        if await verify():
            await self.credentials.clear_failures(account)
            await give_back(self._state, window_key, WINDOW)
            return Verdict.ACCEPTED
        return Verdict.BURNED if tries >= ATTEMPTS_PER_PENDING else Verdict.WRONG

    async def _right(self, account: Account, method: str, answer: str) -> bool:
        if method == "totp":
            return await self._right_totp(account, answer)
        if method == "recovery":
            code = normalise_recovery_code(answer)
            if code is None:
                return False
            for code_hash in self.sealer.recovery_hashes(account, code):
                if await self.credentials.use_recovery_code(account, code_hash):
                    return True
        return False

    async def _right_totp(self, account: Account, answer: str) -> bool:
        now = self._now()
        for factor in await self.credentials.factors(account, KIND_TOTP):
            seed = self.sealer.open(factor.ref, factor.secret)
            if seed is None:
                log.error("TOTP factor %s cannot be opened (another mfa key?)", factor.ref.id)
                continue
            step = verify_totp(seed, answer, now)
            # One conditional update: this step once, never an older one.
            if step is not None and await self.credentials.accept_counter(factor.ref, step, now):
                return True
        return False

    async def enrol_totp(
        self, account: Account, enrolment_id: str, seed: bytes, code: str, name: str = ""
    ) -> list[str] | None:
        """Store the seed once a valid code confirms it (each offered seed once); the new
        recovery codes when this is the user's first factor, else []. None: not confirmed."""
        now = self._now()
        step = verify_totp(seed, code, now)
        if step is None:
            return None
        if not await self._state.claim("mfa:enrolment:" + enrolment_id, PENDING_MAX_AGE):
            return None
        first = not await self.methods(account)
        ref = RowRef(KIND_TOTP, account, random_string(16))
        await self.credentials.add(Factor(ref, name, self.sealer.seal(ref, seed), now, now, step))
        if first and "recovery" in self.policy.methods:
            return await self.new_recovery_codes(account)
        return []

    async def new_recovery_codes(self, account: Account) -> list[str]:
        """Ten fresh codes replacing any the user had; only their keyed hashes are kept."""
        codes = new_recovery_codes()
        hashes = [self.sealer.recovery_hash(account, code.replace("-", "")) for code in codes]
        await self.credentials.replace_recovery_codes(account, hashes, self._now())
        return codes
