"""The StateStore contract, run against every implementation (memory, a sqlite file, and a
real Redis)."""

from __future__ import annotations

import asyncio
import multiprocessing
import secrets
import sqlite3
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from konnect.state import MemoryStateStore, StateStore, StateStoreUnavailable
from konnect.state.redis_store import RedisStateStore
from konnect.state.sqlite_store import SWEEP_INTERVAL, SqliteStateStore
from tests.conftest import RedisServer

T = TypeVar("T")
TTL = 0.3


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    if request.param == "memory":
        yield MemoryStateStore()
        return
    if request.param == "sqlite":
        yield SqliteStateStore(tmp_path / "state.db")
        return
    redis_server: RedisServer = request.getfixturevalue("redis_server")
    yield RedisStateStore(redis_server.url)


@pytest.fixture
def prefix() -> str:
    return secrets.token_hex(4) + ":"


def run(factory: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await factory()

    return asyncio.run(main())


def test_claim_is_single_use(store: StateStore, prefix: str) -> None:
    async def scenario() -> list[bool]:
        results = [await store.claim(prefix + "code", 60) for _ in range(2)]
        results.append(await store.claim(prefix + "other", 60))
        await store.close()
        return results

    assert run(scenario) == [True, False, True]


def test_concurrent_claims_let_exactly_one_win(store: StateStore, prefix: str) -> None:
    async def scenario() -> list[bool]:
        results = await asyncio.gather(*(store.claim(prefix + "race", 60) for _ in range(20)))
        await store.close()
        return list(results)

    assert sorted(run(scenario)) == [False] * 19 + [True]


def test_values_and_expiry(store: StateStore, prefix: str) -> None:
    async def scenario() -> tuple[str | None, str | None, bool]:
        await store.put(prefix + "revoked", "reason", TTL)
        await store.claim(prefix + "once", TTL)
        before = await store.get(prefix + "revoked")
        await asyncio.sleep(TTL + 0.15)
        after = await store.get(prefix + "revoked")
        reclaimed = await store.claim(prefix + "once", TTL)
        await store.close()
        return before, after, reclaimed

    assert run(scenario) == ("reason", None, True)


def test_counters_expire_from_first_increment(store: StateStore, prefix: str) -> None:
    async def scenario() -> list[int]:
        counts = [await store.increment(prefix + "c", TTL) for _ in range(3)]
        await asyncio.sleep(TTL + 0.15)
        counts.append(await store.increment(prefix + "c", TTL))
        await store.close()
        return counts

    assert run(scenario) == [1, 2, 3, 1]


def test_missing_keys_read_as_none(store: StateStore, prefix: str) -> None:
    async def scenario() -> str | None:
        value = await store.get(prefix + "nothing")
        await store.close()
        return value

    assert run(scenario) is None


def test_memory_store_sweeps_expired_keys() -> None:
    now = [1000.0]
    store = MemoryStateStore(lambda: now[0])

    async def scenario() -> None:
        for index in range(500):
            await store.put(f"k{index}", "v", 1)
        now[0] += 2
        for index in range(20):
            await store.put(f"new{index}", "v", 100)

    run(scenario)
    assert len(store._values) < 500  # the sweep itself is under test


def test_memory_store_holds_nothing_per_refresh_rotation() -> None:
    store = MemoryStateStore()

    async def rotations() -> int:
        current: str | None = None
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for index in range(20_000):
                assert await store.swap("family:grant", current, f"refresh{index}", 94_608_000)
                current = f"refresh{index}"
            return tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()

    assert run(rotations) < 64 * 1024  # it held about 90 bytes per rotation
    assert len(store._expiries) <= 2 * len(store._values) + 64


def test_swap_is_compare_and_set(store: StateStore, prefix: str) -> None:
    async def scenario() -> list[object]:
        key = prefix + "family"
        results: list[object] = [
            await store.swap(key, None, "one", 60),
            await store.swap(key, None, "two", 60),
            await store.swap(key, "one", "two", 60),
            await store.swap(key, "one", "three", 60),
            await store.get(key),
        ]
        racers = await asyncio.gather(*(store.swap(key, "two", f"r{n}", 60) for n in range(10)))
        results.append(sorted(racers))
        await store.close()
        return results

    assert run(scenario) == [True, False, True, False, "two", [False] * 9 + [True]]


def test_sqlite_store_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.db"

    async def before() -> None:
        store = SqliteStateStore(path)
        await store.claim("code:used", 60)
        await store.put("revoked:grant", "reason", 60)
        await store.close()

    async def after() -> tuple[bool, str | None]:
        store = SqliteStateStore(path)
        result = (await store.claim("code:used", 60), await store.get("revoked:grant"))
        await store.close()
        return result

    run(before)
    assert run(after) == (False, "reason")


def _claim_in_a_process(path: str, keys: list[str], results: Any) -> None:
    async def claims() -> list[bool]:
        store = SqliteStateStore(Path(path))
        won = [await store.claim(key, 60) for key in keys]
        await store.close()
        return won

    results.put(asyncio.run(claims()))


def test_sqlite_claims_are_atomic_across_processes(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    keys = [f"code:{index}" for index in range(100)]
    workers = [
        context.Process(target=_claim_in_a_process, args=(str(tmp_path / "s.db"), keys, results))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    won = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    assert [sum(column) for column in zip(*won, strict=True)] == [1] * len(keys)


def test_sqlite_store_sweeps_expired_rows(tmp_path: Path) -> None:
    now = [1000.0]
    store = SqliteStateStore(tmp_path / "state.db", lambda: now[0])

    async def scenario() -> int:
        for index in range(50):
            await store.put(f"k{index}", "v", 1)
        now[0] += SWEEP_INTERVAL + 2
        await store.put("fresh", "v", 100)
        await store.close()
        with sqlite3.connect(tmp_path / "state.db") as database:
            [(rows,)] = database.execute("SELECT count(*) FROM konnect_state").fetchall()
        return int(rows)

    assert run(scenario) == 1


def test_the_store_reports_what_it_cannot_keep(store: StateStore) -> None:
    async def scenario() -> list[str]:
        problems = await store.problems()
        await store.close()
        return problems

    problems = run(scenario)
    if isinstance(store, RedisStateStore):  # the test Redis runs without persistence
        assert [problem.split(":")[0] for problem in problems] == [
            "Redis persistence is off (appendonly no)"
        ]
    else:
        assert problems == []


def test_sqlite_reads_neither_wait_for_a_writer_nor_miss_its_commits(tmp_path: Path) -> None:
    path = tmp_path / "state.db"

    async def scenario() -> tuple[str | None, str | None]:
        store = SqliteStateStore(path)
        await store.put("revoked:a", "first", 60)
        with sqlite3.connect(path, isolation_level=None) as other:
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE konnect_state SET value = 'second' WHERE key = 'revoked:a'")
            while_writing = await asyncio.wait_for(store.get("revoked:a"), 1)
            other.execute("COMMIT")
        after_commit = await store.get("revoked:a")
        await store.close()
        return while_writing, after_commit

    assert run(scenario) == ("first", "second")


def test_an_unreadable_sqlite_file_is_an_unavailable_store(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database" * 100)

    async def scenario() -> None:
        store = SqliteStateStore(path)
        try:
            await store.get("revoked:a")
        finally:
            await store.close()

    with pytest.raises(StateStoreUnavailable):
        run(scenario)
