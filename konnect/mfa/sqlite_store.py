"""CredentialStore in SQLite: by default in the state store's own file, so `--workers N` on
one host share it and one backup holds both.

Connections, WAL mode and the worker thread are the state store's (`open_wal_file`,
`WorkerThreads`); each rule is one statement. The schema carries its version in
`konnect_schema` and is migrated at startup, one step after the other, in one transaction.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from konnect.mfa.model import KIND_RECOVERY, Account, AccountState, Factor, RowRef
from konnect.mfa.rows import factor_key, factor_of, newer_schema, state_of, summaries_of
from konnect.mfa.store import AccountSummary, CredentialStoreUnavailable, OutageLog
from konnect.state.sqlite_store import open_wal_file
from konnect.threads import WorkerThreads

T = TypeVar("T")
log = logging.getLogger("konnect.mfa.sqlite")
COMPONENT = "mfa"
#: Migrations in order; the schema version is the number applied. Append, never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE mfa_factors (
      backend TEXT NOT NULL,
      subject TEXT NOT NULL,
      kind TEXT NOT NULL,
      id TEXT NOT NULL,
      name TEXT NOT NULL DEFAULT '',
      secret TEXT NOT NULL DEFAULT '',
      created INTEGER NOT NULL,
      last_used INTEGER NOT NULL DEFAULT 0,
      counter INTEGER NOT NULL DEFAULT -1,
      PRIMARY KEY (backend, subject, kind, id)
    ) WITHOUT ROWID;
    CREATE INDEX mfa_factors_by_id ON mfa_factors (kind, id);
    CREATE TABLE mfa_accounts (
      backend TEXT NOT NULL,
      subject TEXT NOT NULL,
      failures INTEGER NOT NULL DEFAULT 0,
      locked INTEGER NOT NULL DEFAULT 0,
      epoch INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (backend, subject)
    ) WITHOUT ROWID;
    """,
)
_VERSIONS = (
    "CREATE TABLE IF NOT EXISTS konnect_schema "
    "(component TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID"
)
# Every statement is a literal: values only ever travel as parameters.
_FACTORS = (
    "SELECT backend, subject, kind, id, name, secret, created, last_used, counter "
    "FROM mfa_factors WHERE backend = ? AND subject = ? ORDER BY created, kind, id"
)
_FACTORS_OF_KIND = (
    "SELECT backend, subject, kind, id, name, secret, created, last_used, counter "
    "FROM mfa_factors WHERE backend = ? AND subject = ? AND kind = ? ORDER BY created, id"
)
_FIND = (
    "SELECT backend, subject, kind, id, name, secret, created, last_used, counter "
    "FROM mfa_factors WHERE kind = ? AND id = ? LIMIT 1"
)
_ADD = (
    "INSERT INTO mfa_factors "
    "(backend, subject, kind, id, name, secret, created, last_used, counter) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_REMOVE = "DELETE FROM mfa_factors WHERE backend = ? AND subject = ? AND kind = ? AND id = ?"
_RENAME = (
    "UPDATE mfa_factors SET name = ? WHERE backend = ? AND subject = ? AND kind = ? AND id = ?"
)
_REMOVE_KIND = "DELETE FROM mfa_factors WHERE backend = ? AND subject = ? AND kind = ?"
_REMOVE_ALL = "DELETE FROM mfa_factors WHERE backend = ? AND subject = ?"
_ADD_CODE = "INSERT INTO mfa_factors (backend, subject, kind, id, created) VALUES (?, ?, ?, ?, ?)"
#: The one conditional update that accepts a step once and never an older one.
_ACCEPT = (
    "UPDATE mfa_factors SET counter = ?, last_used = ? "
    "WHERE backend = ? AND subject = ? AND kind = ? AND id = ? AND counter < ?"
)
_ACCOUNT_ROW = (
    "INSERT INTO mfa_accounts (backend, subject) VALUES (?, ?) "
    "ON CONFLICT (backend, subject) DO NOTHING"
)
_STATE = "SELECT failures, locked, epoch FROM mfa_accounts WHERE backend = ? AND subject = ?"
_FAILURE = (
    "UPDATE mfa_accounts SET failures = failures + 1, locked = MAX(locked, failures + 1 >= ?) "
    "WHERE backend = ? AND subject = ? RETURNING failures, locked, epoch"
)
_CLEAR = (
    "UPDATE mfa_accounts SET failures = 0 "
    "WHERE backend = ? AND subject = ? RETURNING failures, locked, epoch"
)
_UNLOCK = (
    "UPDATE mfa_accounts SET failures = 0, locked = 0 "
    "WHERE backend = ? AND subject = ? AND locked = 1"
)
_RESET = (
    "UPDATE mfa_accounts SET failures = 0, locked = 0, epoch = epoch + ? "
    "WHERE backend = ? AND subject = ? RETURNING failures, locked, epoch"
)
_SEALED = (
    "SELECT backend, subject, kind, id, name, secret, created, last_used, counter "
    "FROM mfa_factors WHERE kind <> ?"
)
_RESEAL = (
    "UPDATE mfa_factors SET secret = ? WHERE backend = ? AND subject = ? AND kind = ? AND id = ?"
)
_KIND_COUNTS = (
    "SELECT backend, subject, kind, COUNT(*) FROM mfa_factors "
    "WHERE ? IS NULL OR backend = ? GROUP BY backend, subject, kind"
)
_STATES = (
    "SELECT backend, subject, failures, locked, epoch FROM mfa_accounts "
    "WHERE ? IS NULL OR backend = ?"
)


def migrate(connection: sqlite3.Connection, migrations: Sequence[str] = MIGRATIONS) -> int:
    """Bring the schema to the newest version; the version now. Processes starting together
    take turns (BEGIN IMMEDIATE), and a newer schema than this konnect knows is refused."""
    connection.execute(_VERSIONS)
    with _transaction(connection):
        row = connection.execute(
            "SELECT version FROM konnect_schema WHERE component = ?", (COMPONENT,)
        ).fetchone()
        version = 0 if row is None else int(row[0])
        problem = newer_schema(version, len(migrations))
        if problem:
            raise sqlite3.DatabaseError(problem)
        for script in migrations[version:]:
            for statement in _statements(script):
                connection.execute(statement)
        connection.execute(
            "INSERT INTO konnect_schema (component, version) VALUES (?, ?) "
            "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
            (COMPONENT, len(migrations)),
        )
    return len(migrations)


def _statements(script: str) -> list[str]:
    # executescript would commit the open transaction; run the statements one by one.
    return [part.strip() for part in script.split(";") if part.strip()]


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken at once (BEGIN IMMEDIATE) so writers never deadlock."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class SqliteCredentialStore:
    """One connection and one thread per process, opened lazily (forked workers open their
    own)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pid = 0
        self._thread = WorkerThreads("konnect-credentials", 1)
        self._connection: sqlite3.Connection | None = None
        self._outage = OutageLog(log, str(path))

    def check(self) -> int:
        """Create or migrate the schema now, so a bad file stops startup; the schema version
        (raises OSError or sqlite3.Error)."""
        connection = open_wal_file(self.path)
        try:
            return migrate(connection)
        finally:
            connection.close()

    def _database(self) -> sqlite3.Connection:
        if self._pid != os.getpid():
            self._pid, self._connection = os.getpid(), None
        if self._connection is None:
            connection = open_wal_file(self.path)
            migrate(connection)
            self._connection = connection
        return self._connection

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            result = await self._thread.run(lambda: work(self._database()))
        except sqlite3.Error as exc:
            self._outage.began(str(exc))
            raise CredentialStoreUnavailable(f"sqlite: {exc}") from None
        self._outage.ended()
        return result

    async def factors(self, account: Account, kind: str | None = None) -> list[Factor]:
        owner = (account.backend, account.subject)
        query, values = (_FACTORS, owner) if kind is None else (_FACTORS_OF_KIND, (*owner, kind))
        return await self._run(lambda db: [factor_of(row) for row in db.execute(query, values)])

    async def find(self, kind: str, factor_id: str) -> Factor | None:
        def find(db: sqlite3.Connection) -> Factor | None:
            row = db.execute(_FIND, (kind, factor_id)).fetchone()
            return None if row is None else factor_of(row)

        return await self._run(find)

    async def add(self, factor: Factor) -> bool:
        values = (
            *factor_key(factor.ref),
            factor.name,
            factor.secret,
            factor.created,
            factor.last_used,
            factor.counter,
        )
        return await self._run(lambda db: db.execute(_ADD, values).rowcount == 1)

    async def remove(self, ref: RowRef) -> bool:
        return await self._run(lambda db: db.execute(_REMOVE, factor_key(ref)).rowcount == 1)

    async def rename(self, ref: RowRef, name: str) -> bool:
        values = (name, *factor_key(ref))
        return await self._run(lambda db: db.execute(_RENAME, values).rowcount == 1)

    async def accept_counter(self, ref: RowRef, value: int, now: int) -> bool:
        values = (value, now, *factor_key(ref), value)
        return await self._run(lambda db: db.execute(_ACCEPT, values).rowcount == 1)

    async def replace_recovery_codes(self, account: Account, hashes: list[str], now: int) -> None:
        owner = (account.backend, account.subject)

        def replace(db: sqlite3.Connection) -> None:
            with _transaction(db):
                db.execute(_REMOVE_KIND, (*owner, KIND_RECOVERY))
                rows = [(*owner, KIND_RECOVERY, code_hash, now) for code_hash in hashes]
                db.executemany(_ADD_CODE, rows)

        await self._run(replace)

    async def use_recovery_code(self, account: Account, code_hash: str) -> bool:
        return await self.remove(RowRef(KIND_RECOVERY, account, code_hash))

    async def account_state(self, account: Account) -> AccountState:
        owner = (account.backend, account.subject)
        return await self._run(lambda db: state_of(db.execute(_STATE, owner).fetchone()))

    async def _update_account(self, account: Account, query: str, *values: object) -> AccountState:
        owner = (account.backend, account.subject)

        def change(db: sqlite3.Connection) -> AccountState:
            with _transaction(db):
                db.execute(_ACCOUNT_ROW, owner)
                return state_of(db.execute(query, (*values, *owner)).fetchone())

        return await self._run(change)

    async def record_failure(self, account: Account, lock_after: int) -> AccountState:
        return await self._update_account(account, _FAILURE, lock_after)

    async def clear_failures(self, account: Account) -> None:
        await self._update_account(account, _CLEAR)

    async def unlock(self, account: Account) -> bool:
        owner = (account.backend, account.subject)
        return await self._run(lambda db: db.execute(_UNLOCK, owner).rowcount == 1)

    async def reset(self, account: Account, bump_epoch: bool) -> AccountState:
        owner = (account.backend, account.subject)

        def reset(db: sqlite3.Connection) -> AccountState:
            with _transaction(db):
                db.execute(_REMOVE_ALL, owner)
                db.execute(_ACCOUNT_ROW, owner)
                return state_of(db.execute(_RESET, (int(bump_epoch), *owner)).fetchone())

        return await self._run(reset)

    async def reseal(self, change: Callable[[Factor], str]) -> int:
        def reseal(db: sqlite3.Connection) -> int:
            with _transaction(db):
                factors = [factor_of(row) for row in db.execute(_SEALED, (KIND_RECOVERY,))]
                changes = [(change(factor), factor) for factor in factors]
                updates = [(new, *factor_key(f.ref)) for new, f in changes if new != f.secret]
                db.executemany(_RESEAL, updates)
                return len(updates)

        return await self._run(reseal)

    async def summaries(self, backend: str | None = None) -> list[AccountSummary]:
        def summaries(db: sqlite3.Connection) -> list[AccountSummary]:
            kind_counts = db.execute(_KIND_COUNTS, (backend, backend)).fetchall()
            return summaries_of(kind_counts, db.execute(_STATES, (backend, backend)))

        return await self._run(summaries)

    async def problems(self) -> list[str]:
        return []

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if self._pid != os.getpid():
            return
        if connection is not None:
            await self._thread.run(connection.close)
        self._thread.shutdown()
