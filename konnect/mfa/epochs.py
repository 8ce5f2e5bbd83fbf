"""Account epochs as this process sees them: a reset of a user's factors may raise the epoch
(`konnectd mfa reset --revoke-sessions`), which ends every sign-in and grant made before.

Asking the credential store on every authorization would cost a query each time, so the
epoch read for a check is kept for `EPOCH_CACHE_TTL` seconds: a reset reaches every process
and instance within that time. A sign-in reads the epoch afresh, so it never records an
older one than the store holds.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from konnect.mfa.model import Account
from konnect.mfa.store import CredentialStore

#: Seconds an epoch read for a check is trusted without asking the store again.
EPOCH_CACHE_TTL = 5
#: Accounts whose epoch is remembered at once; the least recently read go first.
EPOCH_CACHE_SIZE = 10_000


class AccountEpochs:
    """The current epoch of accounts, read from the credential store through a short cache.
    Raises `CredentialStoreUnavailable` when the store cannot answer."""

    def __init__(
        self,
        credentials: CredentialStore,
        clock: Callable[[], float],
        ttl: float = EPOCH_CACHE_TTL,
        size: int = EPOCH_CACHE_SIZE,
    ) -> None:
        self._credentials = credentials
        self._clock = clock
        self._ttl = ttl
        self._size = size
        self._read: OrderedDict[Account, tuple[int, float]] = OrderedDict()

    async def current(self, account: Account) -> int:
        """The account's epoch, at most `ttl` seconds old."""
        cached = self._read.get(account)
        if cached is not None and self._clock() < cached[1] + self._ttl:
            self._read.move_to_end(account)
            return cached[0]
        return await self.fresh(account)

    async def fresh(self, account: Account) -> int:
        """The account's epoch as the store holds it now (and remembered for the checks)."""
        epoch = (await self._credentials.account_state(account)).epoch
        self._read[account] = (epoch, self._clock())
        self._read.move_to_end(account)
        while len(self._read) > self._size:
            self._read.popitem(last=False)
        return epoch
