"""Counters kept in a StateStore: giving back a place an attempt reserved."""

from __future__ import annotations

from konnect.state.base import StateStore


async def give_back(store: StateStore, key: str, ttl: float) -> None:
    """Take one off the counter `key`, if it is still above zero: a courtesy to attempts
    that succeeded, so they never use up a budget (the counter may move under us)."""
    for _ in range(3):
        current = await store.get(key)
        if current is None or int(current) <= 0:
            return
        if await store.swap(key, current, str(int(current) - 1), ttl):
            return
