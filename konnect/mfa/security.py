"""A user's own factors, as the security page manages them: listing (never a secret),
naming, removing and renewing the recovery codes.

Which changes need a fresh second factor, and when the last factor is kept, is decided here;
the web app's endpoints only carry it out. Recovery codes are not a factor on their own:
they go with the last factor that is removed.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from konnect.mfa.factors import SecondFactors
from konnect.mfa.model import KIND_RECOVERY, KIND_TOTP, KIND_WEBAUTHN, Account, RowRef
from konnect.mfa.policy import REQUIRED, second_factor_current

#: How recent a second factor must be for a change to the factors (a step-up otherwise).
CHANGE_MAX_AGE = 300
MAX_NAME_LENGTH = 64
#: The kinds the security page lists, names and removes one by one.
LISTED_KINDS = (KIND_WEBAUTHN, KIND_TOTP)


class Removal(enum.Enum):
    REMOVED = "removed"
    MISSING = "missing"
    #: The user's last factor, while the policy requires a second factor of them.
    PROTECTED = "protected"


@dataclass(frozen=True)
class FactorView:
    """What the security page shows of a factor."""

    kind: str
    id: str
    name: str
    created: int
    last_used: int


def clean_name(raw: str) -> str:
    """A factor's name as shown: one line of printable text, at most MAX_NAME_LENGTH long."""
    kept = "".join(char for char in raw if not unicodedata.category(char).startswith("C"))
    return " ".join(kept.split())[:MAX_NAME_LENGTH]


class OwnFactors:
    """The security page's rules over the second factors of `factors`."""

    def __init__(self, factors: SecondFactors) -> None:
        self.factors = factors

    def fresh(self, amr: Iterable[str], mfa_time: int, now: int) -> bool:
        """Whether a sign-in's second factor is recent enough to change the factors."""
        return second_factor_current(amr, mfa_time, now, CHANGE_MAX_AGE)

    async def has_factor(self, account: Account) -> bool:
        """Whether the user has a factor (recovery codes alone do not count)."""
        return bool(await self.listed(account))

    def required_for(self, groups: Iterable[str]) -> bool:
        """Whether the policy requires a second factor of a user in `groups`."""
        return self.factors.level(groups) == REQUIRED

    async def listed(self, account: Account) -> list[FactorView]:
        """The user's factors, oldest first (as the store keeps them)."""
        return [
            FactorView(f.ref.kind, f.ref.id, f.name, f.created, f.last_used)
            for f in await self.factors.credentials.factors(account)
            if f.ref.kind in LISTED_KINDS
        ]

    async def recovery_codes_left(self, account: Account) -> int:
        return len(await self.factors.credentials.factors(account, KIND_RECOVERY))

    async def rename(self, account: Account, kind: str, factor_id: str, name: str) -> bool:
        if kind not in LISTED_KINDS:
            return False
        return await self.factors.credentials.rename(
            RowRef(kind, account, factor_id), clean_name(name)
        )

    async def remove(
        self, account: Account, kind: str, factor_id: str, groups: Iterable[str]
    ) -> Removal:
        """Remove one factor, unless it is the last one and the policy requires one; the
        recovery codes go with the last factor."""
        credentials = self.factors.credentials
        ref = RowRef(kind, account, factor_id)
        factor = next((f for f in await credentials.factors(account, kind) if f.ref == ref), None)
        if kind not in LISTED_KINDS or factor is None:
            return Removal.MISSING
        required = self.required_for(groups)
        if required and len(await self.listed(account)) == 1:
            return Removal.PROTECTED
        if not await credentials.remove(ref):
            return Removal.MISSING
        if await self.has_factor(account):
            return Removal.REMOVED
        if required:
            # Another removal ran at the same time and took the other factor: this one
            # comes back, so the user keeps one.
            await credentials.add(factor)
            return Removal.PROTECTED
        await credentials.replace_recovery_codes(account, [], 0)
        return Removal.REMOVED

    async def renew_recovery_codes(self, account: Account) -> list[str] | None:
        """Ten new codes replacing the old ones; None without a factor or recovery codes."""
        if "recovery" not in self.factors.policy.methods or not await self.has_factor(account):
            return None
        return await self.factors.new_recovery_codes(account)
