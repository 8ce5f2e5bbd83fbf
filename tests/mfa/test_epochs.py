"""The epoch cache: a reading is trusted for its lifetime, then the store is asked again; a
fresh reading (a sign-in's) is never older than the store; only so many accounts are kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

from konnect.mfa import Account
from konnect.mfa.epochs import EPOCH_CACHE_TTL, AccountEpochs
from konnect.mfa.sqlite_store import SqliteCredentialStore
from tests.conftest import Clock

JANE, MAX = Account("users", "1001"), Account("users", "1002")


def test_a_reading_lasts_its_lifetime_and_a_fresh_one_sees_the_store(tmp_path: Path) -> None:
    async def run() -> None:
        # Two processes' views of one file: this one reads, the other resets.
        mine, other = (SqliteCredentialStore(tmp_path / "konnect.db") for _ in range(2))
        clock = Clock(1000.0)
        epochs = AccountEpochs(mine, clock)
        assert await epochs.current(JANE) == 0
        await other.reset(JANE, bump_epoch=True)
        clock.advance(EPOCH_CACHE_TTL - 1)
        assert await epochs.current(JANE) == 0
        assert await epochs.fresh(JANE) == 1
        await other.reset(JANE, bump_epoch=True)
        clock.advance(EPOCH_CACHE_TTL)
        assert await epochs.current(JANE) == 2
        await mine.close()
        await other.close()

    asyncio.run(run())


def test_only_so_many_accounts_are_remembered(tmp_path: Path) -> None:
    async def run() -> None:
        mine, other = (SqliteCredentialStore(tmp_path / "konnect.db") for _ in range(2))
        epochs = AccountEpochs(mine, Clock(1000.0), size=1)
        await epochs.current(JANE)
        await epochs.current(MAX)
        await other.reset(JANE, bump_epoch=True)
        await other.reset(MAX, bump_epoch=True)
        # Each reading pushed the other out: both are read again.
        assert await epochs.current(JANE) == 1
        assert await epochs.current(MAX) == 1
        await mine.close()
        await other.close()

    asyncio.run(run())
