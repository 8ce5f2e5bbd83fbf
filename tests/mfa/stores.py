"""The credential and state stores the MFA tests run on: memory, or one SQLite file."""

from __future__ import annotations

from pathlib import Path

from konnect.mfa.memory import MemoryCredentialStore
from konnect.mfa.sqlite_store import SqliteCredentialStore
from konnect.mfa.store import CredentialStore
from konnect.state import MemoryStateStore, StateStore
from konnect.state.sqlite_store import SqliteStateStore

KINDS = ["memory", "sqlite"]


def open_stores(kind: str, folder: Path) -> tuple[CredentialStore, StateStore]:
    if kind == "memory":
        return MemoryCredentialStore(), MemoryStateStore()
    return SqliteCredentialStore(folder / "konnect.db"), SqliteStateStore(folder / "konnect.db")
