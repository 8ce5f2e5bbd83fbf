"""CredentialStore in PostgreSQL (`--credential-store postgresql://…`): the database every
konnect instance reaches when the state store is Redis.

psycopg 3 with its async connection pool, imported only when such a store is configured.
Each rule that must hold across instances is one statement: a step is accepted by one
conditional UPDATE, a recovery code is used by one DELETE, a failure is counted and the
account locked by one upsert. The schema carries its version in `konnect_schema` and is
migrated at startup in one transaction under an advisory lock, so instances starting
together take turns.

While the database cannot be reached every call raises `CredentialStoreUnavailable` within
a few seconds (sign-ins that need a second factor fail closed); the outage is logged when it
starts and when it ends, and the pool reconnects by itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from konnect.mfa.model import KIND_RECOVERY, Account, AccountState, Factor, RowRef
from konnect.mfa.rows import factor_key, factor_of, newer_schema, state_of, summaries_of
from konnect.mfa.store import AccountSummary, CredentialStoreUnavailable, OutageLog

T = TypeVar("T")
Connection = psycopg.AsyncConnection[tuple[Any, ...]]
log = logging.getLogger("konnect.mfa.postgresql")
# The pool logs every reconnection attempt; the store logs an outage once instead.
logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)

COMPONENT = "mfa"
#: Held for the duration of a migration: instances starting together take turns.
MIGRATION_LOCK = 0x6B6F6E6E656374  # "konnect"
#: Seconds a connection attempt, a wait for a pooled connection and a whole operation may
#: take before the store counts as unavailable; a pool that gave up reconnecting starts again
#: on the next call.
CONNECT_TIMEOUT = 3
POOL_WAIT = 5.0
OPERATION_TIMEOUT = 8.0
RECONNECT_TIMEOUT = 5.0
POOL_SIZE = 8
#: Migrations in order; the schema version is the number applied. Append, never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE mfa_factors (
      backend TEXT COLLATE "C" NOT NULL,
      subject TEXT COLLATE "C" NOT NULL,
      kind TEXT COLLATE "C" NOT NULL,
      id TEXT COLLATE "C" NOT NULL,
      name TEXT NOT NULL DEFAULT '',
      secret TEXT NOT NULL DEFAULT '',
      created BIGINT NOT NULL,
      last_used BIGINT NOT NULL DEFAULT 0,
      counter BIGINT NOT NULL DEFAULT -1,
      PRIMARY KEY (backend, subject, kind, id)
    );
    CREATE INDEX mfa_factors_by_id ON mfa_factors (kind, id);
    CREATE TABLE mfa_accounts (
      backend TEXT COLLATE "C" NOT NULL,
      subject TEXT COLLATE "C" NOT NULL,
      failures INTEGER NOT NULL DEFAULT 0,
      locked BOOLEAN NOT NULL DEFAULT FALSE,
      epoch BIGINT NOT NULL DEFAULT 0,
      PRIMARY KEY (backend, subject)
    );
    """,
)
_VERSIONS = (
    "CREATE TABLE IF NOT EXISTS konnect_schema "
    "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
)
# Every statement is a literal: values only ever travel as parameters.
_FACTORS = (
    "SELECT backend, subject, kind, id, name, secret, created, last_used, counter "
    "FROM mfa_factors WHERE backend = %s AND subject = %s ORDER BY created, kind, id"
)
_FACTORS_OF_KIND = (
    "SELECT backend, subject, kind, id, name, secret, created, last_used, counter "
    "FROM mfa_factors WHERE backend = %s AND subject = %s AND kind = %s ORDER BY created, id"
)
_FIND = (
    "SELECT backend, subject, kind, id, name, secret, created, last_used, counter "
    "FROM mfa_factors WHERE kind = %s AND id = %s LIMIT 1"
)
_ADD = (
    "INSERT INTO mfa_factors "
    "(backend, subject, kind, id, name, secret, created, last_used, counter) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)
_REMOVE = "DELETE FROM mfa_factors WHERE backend = %s AND subject = %s AND kind = %s AND id = %s"
_RENAME = (
    "UPDATE mfa_factors SET name = %s WHERE backend = %s AND subject = %s AND kind = %s AND id = %s"
)
_REMOVE_KIND = "DELETE FROM mfa_factors WHERE backend = %s AND subject = %s AND kind = %s"
_REMOVE_ALL = "DELETE FROM mfa_factors WHERE backend = %s AND subject = %s"
_ADD_CODE = (
    "INSERT INTO mfa_factors (backend, subject, kind, id, created) VALUES (%s, %s, %s, %s, %s)"
)
#: The one conditional update that accepts a step once and never an older one: a second
#: instance updating the same row waits for the first and then finds the condition false.
_ACCEPT = (
    "UPDATE mfa_factors SET counter = %s, last_used = %s "
    "WHERE backend = %s AND subject = %s AND kind = %s AND id = %s AND counter < %s"
)
_STATE = "SELECT failures, locked, epoch FROM mfa_accounts WHERE backend = %s AND subject = %s"
_FAILURE = (
    "INSERT INTO mfa_accounts AS a (backend, subject, failures, locked) "
    "VALUES (%(backend)s, %(subject)s, 1, 1 >= %(lock_after)s) "
    "ON CONFLICT (backend, subject) DO UPDATE SET failures = a.failures + 1, "
    "locked = a.locked OR a.failures + 1 >= %(lock_after)s "
    "RETURNING failures, locked, epoch"
)
_CLEAR = "UPDATE mfa_accounts SET failures = 0 WHERE backend = %s AND subject = %s"
_UNLOCK = (
    "UPDATE mfa_accounts SET failures = 0, locked = FALSE "
    "WHERE backend = %s AND subject = %s AND locked"
)
_RESET = (
    "INSERT INTO mfa_accounts AS a (backend, subject, epoch) VALUES (%s, %s, %s) "
    "ON CONFLICT (backend, subject) DO UPDATE SET failures = 0, locked = FALSE, "
    "epoch = a.epoch + excluded.epoch RETURNING failures, locked, epoch"
)
_SEALED = (
    "SELECT backend, subject, kind, id, name, secret, created, last_used, counter "
    "FROM mfa_factors WHERE kind <> %s FOR UPDATE"
)
_RESEAL = (
    "UPDATE mfa_factors SET secret = %s "
    "WHERE backend = %s AND subject = %s AND kind = %s AND id = %s"
)
_KIND_COUNTS = (
    "SELECT backend, subject, kind, COUNT(*) FROM mfa_factors "
    "WHERE %(backend)s::text IS NULL OR backend = %(backend)s GROUP BY backend, subject, kind"
)
_STATES = (
    "SELECT backend, subject, failures, locked, epoch FROM mfa_accounts "
    "WHERE %(backend)s::text IS NULL OR backend = %(backend)s"
)


def describe(url: str) -> str:
    """The database a URL names, without its password (for messages and the log)."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql (unparsable URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


def first_line(exc: Exception) -> str:
    """What went wrong, in one line (psycopg's messages may add hints on more lines)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def migrate(connection: psycopg.Connection[Any], migrations: Sequence[str] = MIGRATIONS) -> int:
    """Bring the schema to the newest version in one transaction; the version now. A newer
    schema than this konnect knows is refused."""
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        connection.execute(_VERSIONS)
        row = connection.execute(
            "SELECT version FROM konnect_schema WHERE component = %s", (COMPONENT,)
        ).fetchone()
        version = 0 if row is None else int(row[0])
        problem = newer_schema(version, len(migrations))
        if problem:
            raise psycopg.DataError(problem)
        for script in migrations[version:]:
            connection.execute(script)
        connection.execute(
            "INSERT INTO konnect_schema (component, version) VALUES (%s, %s) "
            "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
            (COMPONENT, len(migrations)),
        )
    return len(migrations)


def _owner(account: Account) -> tuple[str, str]:
    return (account.backend, account.subject)


class PostgresCredentialStore:
    """One connection pool per process, opened on first use (forked workers open their
    own)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = describe(url)
        self._pid = 0
        self._pool: AsyncConnectionPool[Connection] | None = None
        self._outage = OutageLog(log, self.where)

    def check(self) -> int:
        """Create or migrate the schema now, so an unreachable or unusable database stops
        startup; the schema version (raises psycopg.Error)."""
        with psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT) as connection:
            return migrate(connection)

    def _current_pool(self) -> AsyncConnectionPool[Connection]:
        if self._pid != os.getpid():
            self._pid, self._pool = os.getpid(), None
        if self._pool is None:
            self._pool = AsyncConnectionPool(
                self.url,
                min_size=1,
                max_size=POOL_SIZE,
                open=False,
                timeout=POOL_WAIT,
                reconnect_timeout=RECONNECT_TIMEOUT,
                check=AsyncConnectionPool.check_connection,
                kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
                name="konnect-credentials",
            )
        return self._pool

    async def _probe_during_outage(self) -> None:
        """While the database is known to be down, ask it directly: a refused connection
        answers at once, where the pool would wait for its timeout."""
        if self._outage.down:
            probe = await psycopg.AsyncConnection.connect(self.url, connect_timeout=CONNECT_TIMEOUT)
            await probe.close()

    async def _run(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        pool = self._current_pool()
        try:
            async with asyncio.timeout(OPERATION_TIMEOUT):
                await self._probe_during_outage()
                await pool.open()
                async with pool.connection() as connection:
                    result = await work(connection)
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
            reason = first_line(exc)
            self._outage.began(reason)
            raise CredentialStoreUnavailable(f"{self.where}: {reason}") from None
        except TimeoutError:
            self._outage.began(f"no answer within {OPERATION_TIMEOUT:g} s")
            raise CredentialStoreUnavailable(f"{self.where}: no answer") from None
        self._outage.ended()
        return result

    async def _rows(self, query: str, values: Sequence[Any] | dict[str, Any]) -> list[Any]:
        async def fetch(db: Connection) -> list[Any]:
            return await (await db.execute(query, values)).fetchall()

        return await self._run(fetch)

    async def _changed(self, query: str, values: Sequence[Any]) -> bool:
        async def change(db: Connection) -> bool:
            return (await db.execute(query, values)).rowcount == 1

        return await self._run(change)

    async def factors(self, account: Account, kind: str | None = None) -> list[Factor]:
        owner = _owner(account)
        query, values = (_FACTORS, owner) if kind is None else (_FACTORS_OF_KIND, (*owner, kind))
        return [factor_of(row) for row in await self._rows(query, values)]

    async def find(self, kind: str, factor_id: str) -> Factor | None:
        rows = await self._rows(_FIND, (kind, factor_id))
        return factor_of(rows[0]) if rows else None

    async def add(self, factor: Factor) -> bool:
        values = (
            *factor_key(factor.ref),
            factor.name,
            factor.secret,
            factor.created,
            factor.last_used,
            factor.counter,
        )
        return await self._changed(_ADD, values)

    async def remove(self, ref: RowRef) -> bool:
        return await self._changed(_REMOVE, factor_key(ref))

    async def rename(self, ref: RowRef, name: str) -> bool:
        return await self._changed(_RENAME, (name, *factor_key(ref)))

    async def accept_counter(self, ref: RowRef, value: int, now: int) -> bool:
        return await self._changed(_ACCEPT, (value, now, *factor_key(ref), value))

    async def replace_recovery_codes(self, account: Account, hashes: list[str], now: int) -> None:
        owner = _owner(account)

        async def replace(db: Connection) -> None:
            async with db.transaction(), db.cursor() as cursor:
                await cursor.execute(_REMOVE_KIND, (*owner, KIND_RECOVERY))
                rows = [(*owner, KIND_RECOVERY, code_hash, now) for code_hash in hashes]
                await cursor.executemany(_ADD_CODE, rows)

        await self._run(replace)

    async def use_recovery_code(self, account: Account, code_hash: str) -> bool:
        return await self.remove(RowRef(KIND_RECOVERY, account, code_hash))

    async def account_state(self, account: Account) -> AccountState:
        rows = await self._rows(_STATE, _owner(account))
        return state_of(rows[0] if rows else None)

    async def record_failure(self, account: Account, lock_after: int) -> AccountState:
        values = {"backend": account.backend, "subject": account.subject}
        rows = await self._rows(_FAILURE, {**values, "lock_after": lock_after})
        return state_of(rows[0])

    async def clear_failures(self, account: Account) -> None:
        await self._changed(_CLEAR, _owner(account))

    async def unlock(self, account: Account) -> bool:
        return await self._changed(_UNLOCK, _owner(account))

    async def reset(self, account: Account, bump_epoch: bool) -> AccountState:
        owner = _owner(account)

        async def reset(db: Connection) -> AccountState:
            async with db.transaction():
                await db.execute(_REMOVE_ALL, owner)
                cursor = await db.execute(_RESET, (*owner, int(bump_epoch)))
                return state_of(await cursor.fetchone())

        return await self._run(reset)

    async def reseal(self, change: Callable[[Factor], str]) -> int:
        async def reseal(db: Connection) -> int:
            async with db.transaction(), db.cursor() as cursor:
                await cursor.execute(_SEALED, (KIND_RECOVERY,))
                factors = [factor_of(row) for row in await cursor.fetchall()]
                changes = [(change(factor), factor) for factor in factors]
                updates = [(new, *factor_key(f.ref)) for new, f in changes if new != f.secret]
                await cursor.executemany(_RESEAL, updates)
                return len(updates)

        return await self._run(reseal)

    async def summaries(self, backend: str | None = None) -> list[AccountSummary]:
        kind_counts = await self._rows(_KIND_COUNTS, {"backend": backend})
        return summaries_of(kind_counts, await self._rows(_STATES, {"backend": backend}))

    async def problems(self) -> list[str]:
        return []

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            await pool.close()
