"""In-process StateStore, for tests: everything is forgotten when the process ends."""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable


class MemoryStateStore:
    """A dict with expiry. Expired keys are dropped lazily and by a bounded sweep on writes.

    The expiry heap holds one entry per write; entries of overwritten keys (a refresh-token
    family rotates on every refresh) are dropped by rebuilding the heap from the live keys
    whenever it grows past twice their number, so memory follows the live keys only.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, tuple[str, float]] = {}
        self._expiries: list[tuple[float, str]] = []

    def _live(self, key: str) -> tuple[str, float] | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self._values[key]
            return None
        return entry

    def _sweep(self) -> None:
        now = self._clock()
        for _ in range(64):
            if not self._expiries or self._expiries[0][0] > now:
                return
            _, key = heapq.heappop(self._expiries)
            entry = self._values.get(key)
            if entry is not None and entry[1] <= now:
                del self._values[key]

    def _set(self, key: str, value: str, ttl: float) -> None:
        expires = self._clock() + ttl
        self._values[key] = (value, expires)
        heapq.heappush(self._expiries, (expires, key))
        self._sweep()
        if len(self._expiries) > 2 * len(self._values) + 64:
            self._expiries = [(expiry, key) for key, (_, expiry) in self._values.items()]
            heapq.heapify(self._expiries)

    async def claim(self, key: str, ttl: float, value: str = "1") -> bool:
        if self._live(key) is not None:
            return False
        self._set(key, value, ttl)
        return True

    async def get(self, key: str) -> str | None:
        entry = self._live(key)
        return entry[0] if entry else None

    async def put(self, key: str, value: str, ttl: float) -> None:
        self._set(key, value, ttl)

    async def swap(self, key: str, expected: str | None, value: str, ttl: float) -> bool:
        entry = self._live(key)
        if (entry[0] if entry else None) != expected:
            return False
        self._set(key, value, ttl)
        return True

    async def increment(self, key: str, ttl: float) -> int:
        entry = self._live(key)
        if entry is None:
            self._set(key, "1", ttl)
            return 1
        count = int(entry[0]) + 1
        self._values[key] = (str(count), entry[1])
        return count

    async def problems(self) -> list[str]:
        return []

    async def close(self) -> None:
        self._values.clear()
        self._expiries.clear()
