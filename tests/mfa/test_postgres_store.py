"""The PostgreSQL credential store beyond the shared contract: several instances on one
database, migrations under a lock, startup checks, and an outage that heals by itself."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import psycopg
import pytest

from konnect.config.errors import ConfigError
from konnect.mfa import KIND_TOTP, Account, AccountState, Factor, RowRef
from konnect.mfa.postgres_store import (
    MIGRATIONS,
    OPERATION_TIMEOUT,
    PostgresCredentialStore,
    migrate,
)
from konnect.mfa.store import CredentialStoreUnavailable
from konnect.mfa.stores import open_credential_store
from tests.conftest import PostgresServer, free_port
from tests.test_mfa_command import konnectd

JANE = Account("users", "jane")
TOTP = RowRef(KIND_TOTP, JANE, "app")


def instances(url: str, count: int) -> list[PostgresCredentialStore]:
    """Stores as separate konnect instances hold them: one pool each."""
    return [PostgresCredentialStore(url) for _ in range(count)]


async def close_all(stores: list[PostgresCredentialStore]) -> None:
    for store in stores:
        await store.close()


def test_two_instances_accept_each_step_once(postgres_url: str) -> None:
    first, second = instances(postgres_url, 2)
    first.check()

    async def scenario() -> list[list[bool]]:
        await first.add(Factor(TOTP, "", "s", 1))
        won = []
        for step in range(100, 110):
            tries = [first.accept_counter(TOTP, step, step) for _ in range(5)]
            tries += [second.accept_counter(TOTP, step, step) for _ in range(5)]
            won.append(list(await asyncio.gather(*tries)))
        await close_all([first, second])
        return won

    for results in asyncio.run(scenario()):
        assert sorted(results) == [False] * 9 + [True]


def test_an_older_step_loses_to_a_newer_one_on_another_instance(postgres_url: str) -> None:
    first, second = instances(postgres_url, 2)
    first.check()

    async def scenario() -> tuple[bool, bool, int]:
        await first.add(Factor(TOTP, "", "s", 1))
        newer = await first.accept_counter(TOTP, 200, 1)
        older = await second.accept_counter(TOTP, 199, 2)
        [factor] = await second.factors(JANE)
        await close_all([first, second])
        return newer, older, factor.counter

    assert asyncio.run(scenario()) == (True, False, 200)


def test_failures_from_two_instances_are_all_counted_and_lock_once(postgres_url: str) -> None:
    first, second = instances(postgres_url, 2)
    first.check()

    async def scenario() -> tuple[list[AccountState], AccountState]:
        states = await asyncio.gather(
            *(store.record_failure(JANE, 20) for store in (first, second) for _ in range(15))
        )
        final = await second.account_state(JANE)
        await close_all([first, second])
        return list(states), final

    states, final = asyncio.run(scenario())
    assert sorted(state.failures for state in states) == list(range(1, 31))
    assert all(state.locked == (state.failures >= 20) for state in states)
    assert final == AccountState(30, True, 0)


def test_migrations_record_their_version_and_refuse_a_newer_schema(postgres_url: str) -> None:
    store = PostgresCredentialStore(postgres_url)
    assert store.check() == len(MIGRATIONS)
    assert store.check() == len(MIGRATIONS)  # idempotent
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        extended = (*MIGRATIONS, "CREATE TABLE mfa_extra (x INTEGER)")
        assert migrate(connection, extended) == len(MIGRATIONS) + 1
        assert connection.execute("SELECT count(*) FROM mfa_extra").fetchone() == (0,)
    with pytest.raises(psycopg.DataError, match="newer than this konnect knows"):
        store.check()


def test_a_failed_migration_changes_nothing(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        broken = (*MIGRATIONS, "CREATE TABLE ok (x INTEGER); CREATE TABLE broken (")
        with pytest.raises(psycopg.errors.SyntaxError):
            migrate(connection, broken)
        tables = {
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        }
    assert tables.isdisjoint({"mfa_factors", "ok", "konnect_schema"})


def test_instances_starting_together_migrate_once(postgres_url: str) -> None:
    stores = instances(postgres_url, 6)
    start = threading.Barrier(len(stores))
    outcomes: list[object] = []

    def start_instance(store: PostgresCredentialStore) -> None:
        start.wait()
        try:
            outcomes.append(store.check())
        except psycopg.Error as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=start_instance, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == [len(MIGRATIONS)] * len(stores)


def test_an_unreachable_database_stops_startup_without_showing_the_password() -> None:
    port = free_port()
    with pytest.raises(ConfigError) as raised:
        open_credential_store(f"postgresql://konnect:hunter2@127.0.0.1:{port}/konnect", None)
    [problem] = raised.value.problems
    assert problem.startswith(
        f"credential_store: cannot use postgresql://konnect@127.0.0.1:{port}/konnect: "
    )
    assert "hunter2" not in problem


def test_an_outage_is_reported_once_and_heals_by_itself(
    private_postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = private_postgres.new_database()
    store = PostgresCredentialStore(url)
    store.check()
    caplog.set_level(logging.INFO, logger="konnect.mfa.postgresql")

    async def scenario() -> tuple[list[float], float]:
        await store.add(Factor(TOTP, "", "s", 1))
        private_postgres.stop()
        waited = []
        for _ in range(3):
            began = time.monotonic()
            with pytest.raises(CredentialStoreUnavailable):
                await store.factors(JANE)
            waited.append(time.monotonic() - began)
        await asyncio.to_thread(private_postgres.start)
        back = time.monotonic()
        while True:
            try:
                factors = await store.factors(JANE)
                break
            except CredentialStoreUnavailable:
                assert time.monotonic() - back < 20, "the store did not recover"
                await asyncio.sleep(0.2)
        assert [factor.ref for factor in factors] == [TOTP]
        assert await store.accept_counter(TOTP, 5, 5)
        await store.close()
        return waited, time.monotonic() - back

    waited, recovery = asyncio.run(scenario())
    # The first call notices the outage after the pool's wait; later ones answer at once.
    assert waited[0] < OPERATION_TIMEOUT + 1
    assert max(waited[1:]) < 1
    assert recovery < 20
    messages = [record.getMessage() for record in caplog.records]
    assert len([m for m in messages if "unavailable" in m]) == 1, messages
    assert len([m for m in messages if "available again" in m]) == 1, messages
    assert all("127.0.0.1" in message for message in messages)


def test_konnectd_mfa_looks_after_accounts_in_postgresql(postgres_url: str, tmp_path: Path) -> None:
    store = PostgresCredentialStore(postgres_url)
    store.check()

    async def fill() -> None:
        await store.add(Factor(TOTP, "", "sealed", 1))
        await store.record_failure(JANE, 1)
        await store.close()

    asyncio.run(fill())
    listed = konnectd(tmp_path, "--credential-store", postgres_url, "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].split() == ["users", "jane", "totp", "1", "1", "locked"]
    unlocked = konnectd(tmp_path, "--credential-store", postgres_url, "unlock", "users", "jane")
    assert unlocked.stdout.strip() == "users jane unlocked", unlocked.stderr
    assert asyncio.run(account_state_then_close(store)) == AccountState()


async def account_state_then_close(store: PostgresCredentialStore) -> AccountState:
    state = await store.account_state(JANE)
    await store.close()
    return state
