"""The CredentialStore contract, run against every implementation (memory, a SQLite file, a
PostgreSQL database on a throw-away loopback cluster)."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from konnect.mfa import KIND_RECOVERY, KIND_TOTP, Account, AccountState, CredentialStore, Factor
from konnect.mfa.memory import MemoryCredentialStore
from konnect.mfa.model import RowRef
from konnect.mfa.sqlite_store import MIGRATIONS, SqliteCredentialStore, migrate
from konnect.mfa.stores import open_credential_store
from konnect.state.sqlite_store import SqliteStateStore

T = TypeVar("T")
JANE = Account("users", "jane")
JOHN = Account("users", "john")
TOTP = RowRef(KIND_TOTP, JANE, "app")


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CredentialStore]:
    if request.param == "memory":
        yield MemoryCredentialStore()
    elif request.param == "sqlite":
        yield SqliteCredentialStore(tmp_path / "konnect.db")
    else:
        yield open_credential_store(request.getfixturevalue("postgres_url"), None)


def run(store: CredentialStore, factory: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        try:
            return await factory()
        finally:
            await store.close()

    return asyncio.run(main())


def test_factors_are_kept_per_account_and_kind(store: CredentialStore) -> None:
    async def scenario() -> tuple[Any, ...]:
        added = await store.add(Factor(TOTP, "Phone", "sealed", 10))
        again = await store.add(Factor(TOTP, "Other", "other", 11))
        await store.add(Factor(RowRef(KIND_TOTP, JOHN, "app"), "", "x", 12))
        mine = await store.factors(JANE)
        found = await store.find(KIND_TOTP, "app")
        removed = await store.remove(TOTP), await store.remove(TOTP)
        return added, again, mine, found is not None, removed, await store.factors(JANE)

    added, again, mine, found, removed, after = run(store, scenario)
    assert (added, again, found, removed, after) == (True, False, True, (True, False), [])
    assert mine == [Factor(TOTP, "Phone", "sealed", 10)]


def test_a_rename_changes_only_the_name_of_that_factor(store: CredentialStore) -> None:
    async def scenario() -> tuple[Any, ...]:
        await store.add(Factor(TOTP, "", "sealed", 10, 11, 5))
        await store.add(Factor(RowRef(KIND_TOTP, JOHN, "app"), "John's", "x", 12))
        renamed = await store.rename(TOTP, "Phone")
        missing = await store.rename(RowRef(KIND_TOTP, JANE, "none"), "Other")
        return renamed, missing, await store.factors(JANE), await store.factors(JOHN)

    renamed, missing, mine, johns = run(store, scenario)
    assert (renamed, missing) == (True, False)
    assert mine == [Factor(TOTP, "Phone", "sealed", 10, 11, 5)]
    assert [factor.name for factor in johns] == ["John's"]


def test_a_step_is_accepted_once_and_never_an_older_one(store: CredentialStore) -> None:
    async def scenario() -> list[bool]:
        await store.add(Factor(TOTP, "", "s", 1))
        results = [
            await store.accept_counter(TOTP, 100, 5),
            await store.accept_counter(TOTP, 100, 6),  # replay of the same step
            await store.accept_counter(TOTP, 99, 7),  # an older step
            await store.accept_counter(TOTP, 101, 8),
            await store.accept_counter(RowRef(KIND_TOTP, JOHN, "app"), 500, 9),  # no such row
        ]
        [factor] = await store.factors(JANE)
        results.append((factor.counter, factor.last_used) == (101, 8))
        return results

    assert run(store, scenario) == [True, False, False, True, False, True]


def test_concurrent_uses_of_one_step_let_exactly_one_win(store: CredentialStore) -> None:
    async def scenario() -> list[bool]:
        await store.add(Factor(TOTP, "", "s", 1))
        return list(await asyncio.gather(*(store.accept_counter(TOTP, 7, 1) for _ in range(20))))

    assert sorted(run(store, scenario)) == [False] * 19 + [True]


def test_recovery_codes_are_replaced_whole_and_used_once(store: CredentialStore) -> None:
    async def scenario() -> tuple[Any, ...]:
        await store.replace_recovery_codes(JANE, ["h1", "h2"], 1)
        await store.replace_recovery_codes(JANE, ["h3", "h4"], 2)
        old = await store.use_recovery_code(JANE, "h1")
        other_account = await store.use_recovery_code(JOHN, "h3")
        races = await asyncio.gather(*(store.use_recovery_code(JANE, "h3") for _ in range(10)))
        left = [factor.ref.id for factor in await store.factors(JANE, KIND_RECOVERY)]
        return old, other_account, sorted(races), left

    old, other_account, races, left = run(store, scenario)
    assert (old, other_account, left) == (False, False, ["h4"])
    assert races == [False] * 9 + [True]


def test_failures_lock_at_the_limit_until_unlocked(store: CredentialStore) -> None:
    async def scenario() -> tuple[Any, ...]:
        states = [await store.record_failure(JANE, 3) for _ in range(3)]
        await store.clear_failures(JANE)
        still_locked = await store.account_state(JANE)
        unlocked = await store.unlock(JANE), await store.unlock(JANE)
        return states, still_locked, unlocked, await store.account_state(JANE)

    states, still_locked, unlocked, after = run(store, scenario)
    assert [(state.failures, state.locked) for state in states] == [
        (1, False),
        (2, False),
        (3, True),
    ]
    assert still_locked == AccountState(0, True, 0)
    assert unlocked == (True, False)
    assert after == AccountState()


def test_consecutive_failures_start_again_after_a_success(store: CredentialStore) -> None:
    async def scenario() -> AccountState:
        for _ in range(2):
            await store.record_failure(JANE, 3)
        await store.clear_failures(JANE)
        return await store.record_failure(JANE, 3)

    assert run(store, scenario) == AccountState(1, False, 0)


def test_concurrent_failures_are_all_counted(store: CredentialStore) -> None:
    async def scenario() -> AccountState:
        await asyncio.gather(*(store.record_failure(JANE, 100) for _ in range(30)))
        return await store.account_state(JANE)

    assert run(store, scenario) == AccountState(30, False, 0)


def test_reset_removes_every_factor_lifts_the_lock_and_may_bump_the_epoch(
    store: CredentialStore,
) -> None:
    async def scenario() -> tuple[Any, ...]:
        await store.add(Factor(TOTP, "", "s", 1))
        await store.replace_recovery_codes(JANE, ["h1"], 1)
        await store.add(Factor(RowRef(KIND_TOTP, JOHN, "app"), "", "x", 1))
        await store.record_failure(JANE, 1)
        kept = await store.reset(JANE, bump_epoch=False)
        bumped = await store.reset(JANE, bump_epoch=True)
        return kept, bumped, await store.factors(JANE), len(await store.factors(JOHN))

    kept, bumped, factors, johns = run(store, scenario)
    assert (kept, bumped, factors, johns) == (AccountState(), AccountState(epoch=1), [], 1)


def test_summaries_count_factors_per_kind(store: CredentialStore) -> None:
    async def scenario() -> list[Any]:
        await store.add(Factor(TOTP, "", "s", 1))
        await store.replace_recovery_codes(JANE, ["h1", "h2"], 1)
        await store.record_failure(Account("ldap", "max"), 5)
        everyone = await store.summaries()
        return [
            [(item.account, item.kinds, item.state.failures) for item in everyone],
            [item.account for item in await store.summaries("ldap")],
        ]

    everyone, ldap = run(store, scenario)
    assert everyone == [
        (Account("ldap", "max"), {}, 1),
        (JANE, {KIND_TOTP: 1, KIND_RECOVERY: 2}, 0),
    ]
    assert ldap == [Account("ldap", "max")]


class Refused(Exception):
    pass


def test_reseal_changes_every_sealed_secret_or_none(store: CredentialStore) -> None:
    john = RowRef(KIND_TOTP, JOHN, "app")

    def refuse_john(factor: Factor) -> str:
        if factor.ref == john:
            raise Refused
        return "new-" + factor.secret

    async def scenario() -> tuple[Any, ...]:
        await store.add(Factor(TOTP, "Phone", "s", 1, 5, 7))
        await store.add(Factor(john, "", "x", 2))
        await store.replace_recovery_codes(JANE, ["h1"], 1)
        with pytest.raises(Refused):
            await store.reseal(refuse_john)
        untouched = [f.secret for f in await store.factors(JANE) + await store.factors(JOHN)]
        changed = await store.reseal(lambda f: f.secret if f.ref == john else "new-" + f.secret)
        return untouched, changed, await store.factors(JANE), await store.factors(JOHN)

    untouched, changed, janes, johns = run(store, scenario)
    assert untouched == ["", "s", "x"]
    assert changed == 1
    assert janes == [
        Factor(RowRef(KIND_RECOVERY, JANE, "h1"), "", "", 1),
        Factor(TOTP, "Phone", "new-s", 1, 5, 7),
    ]
    assert [f.secret for f in johns] == ["x"]


# -- SQLite only --------------------------------------------------------------------------


def test_sqlite_shares_the_state_store_file(tmp_path: Path) -> None:
    path = tmp_path / "konnect.db"
    state, credentials = SqliteStateStore(path), SqliteCredentialStore(path)

    async def scenario() -> tuple[bool, bool]:
        await state.put("k", "v", 60)
        added = await credentials.add(Factor(TOTP, "", "s", 1))
        claimed = await state.claim("k", 60)
        await state.close()
        await credentials.close()
        return added, claimed

    assert asyncio.run(scenario()) == (True, False)
    with sqlite3.connect(path) as database:
        tables = {row[0] for row in database.execute("SELECT name FROM sqlite_master")}
    assert {"konnect_state", "mfa_factors", "mfa_accounts", "konnect_schema"} <= tables


def test_sqlite_stores_on_one_file_accept_a_step_once(tmp_path: Path) -> None:
    stores = [SqliteCredentialStore(tmp_path / "konnect.db") for _ in range(4)]

    async def scenario() -> list[bool]:
        await stores[0].add(Factor(TOTP, "", "s", 1))
        results = await asyncio.gather(
            *(store.accept_counter(TOTP, 42, 1) for store in stores for _ in range(5))
        )
        for store in stores:
            await store.close()
        return list(results)

    assert sorted(asyncio.run(scenario())) == [False] * 19 + [True]


def _accept_in_a_process(path: str, steps: list[int], results: Any) -> None:
    store = SqliteCredentialStore(Path(path))

    async def accept() -> list[bool]:
        won = [await store.accept_counter(TOTP, step, step) for step in steps]
        await store.close()
        return won

    results.put(asyncio.run(accept()))


def test_sqlite_processes_accept_each_step_once(tmp_path: Path) -> None:
    path = tmp_path / "konnect.db"
    asyncio.run(SqliteCredentialStore(path).add(Factor(TOTP, "", "s", 1)))
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    steps = list(range(1, 60))
    workers = [
        context.Process(target=_accept_in_a_process, args=(str(path), steps, results))
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    won = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    # Each step is won at most once, and the counter never went back.
    assert all(sum(column) <= 1 for column in zip(*won, strict=True))
    assert any(any(row) for row in won)


def test_migrations_record_their_version_and_refuse_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "konnect.db"
    assert SqliteCredentialStore(path).check() == len(MIGRATIONS)
    assert SqliteCredentialStore(path).check() == len(MIGRATIONS)  # idempotent
    with sqlite3.connect(path, isolation_level=None) as database:
        extended = (*MIGRATIONS, "CREATE TABLE mfa_extra (x INTEGER)")
        assert migrate(database, extended) == len(MIGRATIONS) + 1
        assert database.execute("SELECT count(*) FROM mfa_extra").fetchone() == (0,)
    with pytest.raises(sqlite3.DatabaseError, match="newer than this konnect knows"):
        SqliteCredentialStore(path).check()


def test_a_failed_migration_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "konnect.db"
    with sqlite3.connect(path, isolation_level=None) as database:
        broken = (*MIGRATIONS, "CREATE TABLE ok (x); CREATE TABLE broken (")
        with pytest.raises(sqlite3.OperationalError):
            migrate(database, broken)
        tables = {row[0] for row in database.execute("SELECT name FROM sqlite_master")}
    assert "mfa_factors" not in tables
    assert "ok" not in tables
