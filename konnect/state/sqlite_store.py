"""StateStore in a SQLite file: the embedded default, durable across restarts of one host.

The standard library's sqlite3 in WAL mode. Every operation is one SQL statement, so it is
atomic also between the processes of `--workers N` sharing the file. Writes run in one
thread per process, off the event loop; a single-key read runs on the loop itself, since a WAL
read never waits for a writer and costs less than the hop to that thread. Expiry is a
wall-clock time (it must survive a restart); expired rows read as absent and are deleted in
small batches now and then.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from konnect.state.base import StateStoreUnavailable
from konnect.threads import WorkerThreads, process_generation

T = TypeVar("T")
SWEEP_INTERVAL = 60.0
SWEEP_BATCH = 1000
_BUSY_TIMEOUT_MS = 5000
#: A read on the event loop waits at most this long (WAL readers almost never wait); then it
#: is retried on the store's thread, which may wait longer.
_LOOP_READ_TIMEOUT_S = 0.02
_SCHEMA = """
CREATE TABLE IF NOT EXISTS konnect_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  expires REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS konnect_state_expires ON konnect_state (expires);
"""
_UPSERT = "INSERT INTO konnect_state (key, value, expires) VALUES (?, ?, ?) ON CONFLICT (key) "
_CLAIM = _UPSERT + (
    "DO UPDATE SET value = excluded.value, expires = excluded.expires "
    "WHERE konnect_state.expires <= ?"
)
_PUT = _UPSERT + "DO UPDATE SET value = excluded.value, expires = excluded.expires"
_SWAP = (
    "UPDATE konnect_state SET value = ?, expires = ? WHERE key = ? AND value = ? AND expires > ?"
)
_INCREMENT = _UPSERT + (
    "DO UPDATE SET "
    "value = CASE WHEN konnect_state.expires <= ? THEN '1' "
    "ELSE CAST(CAST(konnect_state.value AS INTEGER) + 1 AS TEXT) END, "
    "expires = CASE WHEN konnect_state.expires <= ? THEN excluded.expires "
    "ELSE konnect_state.expires END "
    "RETURNING value"
)
_GET = "SELECT value FROM konnect_state WHERE key = ? AND expires > ?"
_SWEEP = (
    "DELETE FROM konnect_state WHERE key IN "
    "(SELECT key FROM konnect_state WHERE expires <= ? LIMIT ?)"
)


def open_database(path: Path) -> sqlite3.Connection:
    """Open (and on first use create) the state file and its table, in WAL mode."""
    connection = open_wal_file(path)
    connection.executescript(_SCHEMA)
    return connection


def open_wal_file(path: Path) -> sqlite3.Connection:
    """A connection in autocommit and WAL mode to a SQLite file, created on first use; shared
    by every store that keeps its tables in konnect's file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    connection = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA journal_mode = WAL")
    # In WAL mode NORMAL survives a crash of konnect (not of the machine) without an fsync
    # per write.
    connection.execute("PRAGMA synchronous = NORMAL")
    return connection


class SqliteStateStore:
    """One connection and one thread per process; opened lazily, so forked workers each
    open their own."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._generation = -1  # of the process whose connections these are
        self._thread = WorkerThreads("konnect-state", 1)
        self._connection: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._next_sweep = 0.0

    def check(self) -> None:
        """Create the file and table now, so a bad path is a startup problem (raises OSError
        or sqlite3.Error)."""
        open_database(self.path).close()

    def _forget_connections_of_another_process(self) -> None:
        if self._generation != process_generation():
            self._generation = process_generation()
            self._connection = self._reader = None

    def _loop_reader(self) -> sqlite3.Connection:
        """This process's read-only connection, used on the event loop's thread only."""
        self._forget_connections_of_another_process()
        if self._reader is None:
            reader = sqlite3.connect(self.path, timeout=_LOOP_READ_TIMEOUT_S, isolation_level=None)
            reader.execute("PRAGMA query_only = ON")
            self._reader = reader
        return self._reader

    def _database(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = open_database(self.path)
        return self._connection

    async def _run(self, work: Callable[[sqlite3.Connection, float], T]) -> T:
        def call() -> T:
            database, now = self._database(), self._clock()
            result = work(database, now)
            if now >= self._next_sweep:
                self._next_sweep = now + SWEEP_INTERVAL
                database.execute(_SWEEP, (now, SWEEP_BATCH))
            return result

        self._forget_connections_of_another_process()
        try:
            return await self._thread.run(call)
        except sqlite3.Error as exc:
            raise StateStoreUnavailable(f"sqlite: {exc}") from None

    async def claim(self, key: str, ttl: float, value: str = "1") -> bool:
        def claim(db: sqlite3.Connection, now: float) -> bool:
            return db.execute(_CLAIM, (key, value, now + ttl, now)).rowcount == 1

        return await self._run(claim)

    async def get(self, key: str) -> str | None:
        def get(db: sqlite3.Connection, now: float) -> str | None:
            row = db.execute(_GET, (key, now)).fetchone()
            return None if row is None else str(row[0])

        try:
            return get(self._loop_reader(), self._clock())
        except sqlite3.Error:
            return await self._run(get)

    async def put(self, key: str, value: str, ttl: float) -> None:
        def put(db: sqlite3.Connection, now: float) -> None:
            db.execute(_PUT, (key, value, now + ttl))

        await self._run(put)

    async def swap(self, key: str, expected: str | None, value: str, ttl: float) -> bool:
        if expected is None:
            return await self.claim(key, ttl, value)

        def swap(db: sqlite3.Connection, now: float) -> bool:
            return db.execute(_SWAP, (value, now + ttl, key, expected, now)).rowcount == 1

        return await self._run(swap)

    async def increment(self, key: str, ttl: float) -> int:
        def increment(db: sqlite3.Connection, now: float) -> int:
            [(count,)] = db.execute(_INCREMENT, (key, "1", now + ttl, now, now)).fetchall()
            return int(count)

        return await self._run(increment)

    async def problems(self) -> list[str]:
        return []

    async def close(self) -> None:
        connection, reader = self._connection, self._reader
        self._connection = self._reader = None
        if self._generation != process_generation():
            return
        if reader is not None:
            reader.close()
        if connection is not None:
            await self._thread.run(connection.close)
        self._thread.shutdown()
