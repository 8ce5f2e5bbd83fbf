"""The StateStore protocol every implementation satisfies."""

from __future__ import annotations

from typing import Protocol


class StateStoreUnavailable(Exception):
    """The store cannot be reached; callers that need it fail closed."""


class StateStore(Protocol):
    """Keys expire after their time to live; values are small strings."""

    async def claim(self, key: str, ttl: float, value: str = "1") -> bool:
        """Set `key` only if absent. True the first time, False once claimed (single use)."""
        ...

    async def get(self, key: str) -> str | None:
        """The value of `key`, or None when absent or expired."""
        ...

    async def put(self, key: str, value: str, ttl: float) -> None:
        """Set `key`, replacing any value."""
        ...

    async def swap(self, key: str, expected: str | None, value: str, ttl: float) -> bool:
        """Set `key` to `value` only if it now holds `expected` (None: absent). Atomic."""
        ...

    async def increment(self, key: str, ttl: float) -> int:
        """Add one to a counter that expires `ttl` seconds after its first increment."""
        ...

    async def problems(self) -> list[str]:
        """What is not as konnect needs it (checked at startup, for the log)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
