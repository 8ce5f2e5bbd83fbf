"""Rows of the SQL credential stores (SQLite, PostgreSQL) read as the model's objects, in one
place for both: a factor row, an account row, the summaries, and the schema version check."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from konnect.mfa.model import Account, AccountState, Factor, RowRef
from konnect.mfa.store import AccountSummary


def factor_key(ref: RowRef) -> tuple[str, str, str, str]:
    """The primary key of a factor's row: backend, subject, kind, id."""
    return (ref.account.backend, ref.account.subject, ref.kind, ref.id)


def factor_of(row: Sequence[Any]) -> Factor:
    """A factor from backend, subject, kind, id, name, secret, created, last_used, counter."""
    backend, subject, kind, factor_id, name, secret, created, last_used, counter = row
    ref = RowRef(str(kind), Account(str(backend), str(subject)), str(factor_id))
    return Factor(ref, str(name), str(secret), int(created), int(last_used), int(counter))


def state_of(row: Sequence[Any] | None) -> AccountState:
    """An account's state from failures, locked, epoch; no row is the initial state."""
    if row is None:
        return AccountState()
    failures, locked, epoch = row
    return AccountState(int(failures), bool(locked), int(epoch))


def summaries_of(
    kind_counts: Iterable[Sequence[Any]], states: Iterable[Sequence[Any]]
) -> list[AccountSummary]:
    """Summaries from (backend, subject, kind, count) and (backend, subject, failures, locked,
    epoch) rows, ordered by backend and subject."""
    kinds: dict[Account, dict[str, int]] = {}
    for backend, subject, kind, count in kind_counts:
        kinds.setdefault(Account(backend, subject), {})[kind] = int(count)
    account_states = {Account(row[0], row[1]): state_of(row[2:]) for row in states}
    accounts = sorted(set(kinds) | set(account_states), key=lambda a: (a.backend, a.subject))
    return [
        AccountSummary(a, kinds.get(a, {}), account_states.get(a, AccountState())) for a in accounts
    ]


def newer_schema(version: int, known: int) -> str | None:
    """Why a stored schema cannot be used by this konnect, or None when it can."""
    if version <= known:
        return None
    return f"credential store schema {version} is newer than this konnect knows ({known})"
