"""A state store that reports how long each call took and whether it failed.

It wraps any store with the state store's methods; only the calls' names and durations are
reported, never keys or values. Each method hands back the timing coroutine itself rather
than awaiting it in one of its own: store calls are on every token request's path.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Coroutine
from typing import Any, Protocol, TypeVar

from konnect.observe.metrics import Metrics

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

    def __init__(self, store: _Store, metrics: Metrics) -> None:
        self.store = store
        self._seconds = metrics.store_seconds
        self._errors = metrics.store_errors

    async def _timed(self, operation: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            return await call
        except Exception:  # not a cancellation: the store did not fail
            self._errors.inc(operation)
            raise
        finally:
            self._seconds.observe(time.perf_counter() - started, operation)

    def claim(self, key: str, ttl: float, value: str = "1") -> Coroutine[Any, Any, bool]:
        return self._timed("claim", self.store.claim(key, ttl, value))

    def get(self, key: str) -> Coroutine[Any, Any, str | None]:
        return self._timed("get", self.store.get(key))

    def put(self, key: str, value: str, ttl: float) -> Coroutine[Any, Any, None]:
        return self._timed("put", self.store.put(key, value, ttl))

    def swap(
        self, key: str, expected: str | None, value: str, ttl: float
    ) -> Coroutine[Any, Any, bool]:
        return self._timed("swap", self.store.swap(key, expected, value, ttl))

    def increment(self, key: str, ttl: float) -> Coroutine[Any, Any, int]:
        return self._timed("increment", self.store.increment(key, ttl))

    async def problems(self) -> list[str]:
        return await self.store.problems()

    async def close(self) -> None:
        await self.store.close()
