"""A state store that reports how long each call took and whether it failed.

It wraps any store with the state store's methods; only the calls' names and durations are
reported, never keys or values.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Protocol, TypeVar

from konnect.observe.events import Events

T = TypeVar("T")


class _Store(Protocol):
    async def claim(self, key: str, ttl: float, value: str = "1") -> bool: ...
    async def get(self, key: str) -> str | None: ...
    async def put(self, key: str, value: str, ttl: float) -> None: ...
    async def swap(self, key: str, expected: str | None, value: str, ttl: float) -> bool: ...
    async def increment(self, key: str, ttl: float) -> int: ...
    async def problems(self) -> list[str]: ...
    async def close(self) -> None: ...


class TimedStore:
    """Delegates every call to `store`, timing it."""

    def __init__(self, store: _Store, events: Events) -> None:
        self.store = store
        self.events = events

    async def _timed(self, operation: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        failed = True
        try:
            result = await call
            failed = False
            return result
        finally:
            self.events.store_call(operation, time.perf_counter() - started, failed)

    async def claim(self, key: str, ttl: float, value: str = "1") -> bool:
        return await self._timed("claim", self.store.claim(key, ttl, value))

    async def get(self, key: str) -> str | None:
        return await self._timed("get", self.store.get(key))

    async def put(self, key: str, value: str, ttl: float) -> None:
        await self._timed("put", self.store.put(key, value, ttl))

    async def swap(self, key: str, expected: str | None, value: str, ttl: float) -> bool:
        return await self._timed("swap", self.store.swap(key, expected, value, ttl))

    async def increment(self, key: str, ttl: float) -> int:
        return await self._timed("increment", self.store.increment(key, ttl))

    async def problems(self) -> list[str]:
        return await self.store.problems()

    async def close(self) -> None:
        await self.store.close()
