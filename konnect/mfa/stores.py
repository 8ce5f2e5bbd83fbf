"""Choosing the credential store from `--credential-store`: a registry of schemes.

A spec is `scheme` or `scheme:rest` (`memory`, `sqlite`, `sqlite:PATH`, a `postgresql://`
URL). Each scheme builds its store from the spec and the state store's SQLite file, which is
where `sqlite` without a path keeps its tables. The PostgreSQL driver is imported only when
such a URL is configured.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from konnect.config.errors import ConfigError
from konnect.mfa.memory import MemoryCredentialStore
from konnect.mfa.sqlite_store import SqliteCredentialStore
from konnect.mfa.store import CredentialStore

#: Builds a store from the rest of its spec (after `scheme:`) and the state store's file
#: (None when the state store is not a SQLite file). Raises ConfigError for a bad spec.
StoreFactory = Callable[[str, Path | None], CredentialStore]


def _memory(rest: str, state_file: Path | None) -> CredentialStore:
    if rest:
        raise ConfigError(["credential_store: memory takes no argument"])
    return MemoryCredentialStore()


def _sqlite(rest: str, state_file: Path | None) -> CredentialStore:
    path = Path(rest) if rest else state_file
    if path is None:
        raise ConfigError(
            [
                "credential_store: sqlite without a path shares the state store's file, but "
                "the state store is not a sqlite file: give sqlite:PATH"
            ]
        )
    store = SqliteCredentialStore(path)
    try:
        store.check()
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError([f"credential_store: cannot open {path}: {exc}"]) from None
    return store


def _postgresql(rest: str, state_file: Path | None) -> CredentialStore:
    import psycopg

    from konnect.mfa.postgres_store import PostgresCredentialStore, describe, first_line

    url = f"postgresql:{rest}"
    store = PostgresCredentialStore(url)
    try:
        store.check()
    except psycopg.Error as exc:
        problem = first_line(exc)
        raise ConfigError([f"credential_store: cannot use {describe(url)}: {problem}"]) from None
    return store


SCHEMES: dict[str, StoreFactory] = {
    "memory": _memory,
    "sqlite": _sqlite,
    "postgresql": _postgresql,
    "postgres": _postgresql,
}


def default_credential_store(state_store: str) -> str:
    """The credential store beside a state store: its SQLite file, or memory beside memory;
    "" when there is no sensible default (several instances must name a shared database)."""
    if state_store == "memory":
        return "memory"
    if state_store == "sqlite" or state_store.startswith("sqlite:"):
        return "sqlite"
    return ""


def open_credential_store(spec: str, state_file: Path | None) -> CredentialStore:
    """The store `spec` names; ConfigError for an unknown scheme or an unusable spec."""
    scheme, _, rest = spec.partition(":")
    factory = SCHEMES.get(scheme)
    if factory is None:
        known = ", ".join(SCHEMES)
        raise ConfigError([f"credential_store: unknown store '{spec}' (schemes: {known})"])
    return factory(rest, state_file)
