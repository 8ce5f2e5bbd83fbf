"""The CredentialStore protocol every implementation satisfies (memory, SQLite; more register
in `konnect.mfa.stores`).

Rows are keyed by backend, raw subject, kind and id. Every rule that must hold across
processes and instances is one conditional statement in the implementation: a counter only
grows (`accept_counter`), a recovery code is used once (`use_recovery_code`), failures are
counted and the account locked in one step (`record_failure`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from konnect.mfa.model import (
    KIND_RECOVERY,
    KIND_TOTP,
    Account,
    AccountState,
    Factor,
    RowRef,
)

__all__ = [
    "KIND_RECOVERY",
    "KIND_TOTP",
    "Account",
    "AccountState",
    "AccountSummary",
    "CredentialStore",
    "CredentialStoreUnavailable",
    "Factor",
    "OutageLog",
    "RowRef",
]


class CredentialStoreUnavailable(Exception):
    """The store cannot be reached; a sign-in that needs it fails closed."""


class OutageLog:
    """Logs a store's outage once when it begins and once when the store answers again;
    the sign-ins refused meanwhile are not logged one by one."""

    def __init__(self, log: logging.Logger, store: str) -> None:
        self.log = log
        self.store = store
        self.down = False

    def began(self, reason: str) -> None:
        if not self.down:
            self.down = True
            self.log.error("credential store %s unavailable: %s", self.store, reason)

    def ended(self) -> None:
        if self.down:
            self.down = False
            self.log.warning("credential store %s available again", self.store)


@dataclass(frozen=True)
class AccountSummary:
    """An account with factors or state, for administrators: how many factors of each kind."""

    account: Account
    kinds: dict[str, int] = field(default_factory=dict)
    state: AccountState = field(default_factory=AccountState)


class CredentialStore(Protocol):
    async def factors(self, account: Account, kind: str | None = None) -> list[Factor]:
        """The account's factors (of one kind), oldest first."""
        ...

    async def find(self, kind: str, factor_id: str) -> Factor | None:
        """A factor by kind and id whoever owns it (a passkey names only its credential)."""
        ...

    async def add(self, factor: Factor) -> bool:
        """Store a new factor; False when its row exists already."""
        ...

    async def remove(self, ref: RowRef) -> bool:
        """Delete one factor; False when it was not there."""
        ...

    async def rename(self, ref: RowRef, name: str) -> bool:
        """Give one factor the name its user chose; False when it was not there."""
        ...

    async def accept_counter(self, ref: RowRef, value: int, now: int) -> bool:
        """Raise the factor's counter to `value` only if it is lower now (a TOTP step is
        accepted once and never an older one): one conditional update. Records the use."""
        ...

    async def replace_recovery_codes(self, account: Account, hashes: list[str], now: int) -> None:
        """The account's recovery codes become these (keyed hashes), all others gone."""
        ...

    async def use_recovery_code(self, account: Account, code_hash: str) -> bool:
        """Delete the recovery code with this hash; True only for the one caller that did."""
        ...

    async def account_state(self, account: Account) -> AccountState: ...

    async def record_failure(self, account: Account, lock_after: int) -> AccountState:
        """Count a consecutive failure; the account locks at `lock_after`."""
        ...

    async def clear_failures(self, account: Account) -> None:
        """A correct answer ends the run of consecutive failures (a lock stays)."""
        ...

    async def unlock(self, account: Account) -> bool:
        """Lift the lock and forget the failures; False when it was not locked."""
        ...

    async def reset(self, account: Account, bump_epoch: bool) -> AccountState:
        """Delete every factor of the account and lift its lock; with `bump_epoch` the epoch
        grows by one, so sign-ins made before end."""
        ...

    async def reseal(self, change: Callable[[Factor], str]) -> int:
        """Give every factor with a sealed secret (all but recovery codes) the secret `change`
        returns for it, in one transaction: when `change` raises, nothing changes. The number
        of secrets that changed."""
        ...

    async def summaries(self, backend: str | None = None) -> list[AccountSummary]:
        """Every account with factors or state (of one backend), ordered by backend, subject."""
        ...

    async def problems(self) -> list[str]:
        """What is not as konnect needs it (checked at startup, for the log)."""
        ...

    async def close(self) -> None: ...
