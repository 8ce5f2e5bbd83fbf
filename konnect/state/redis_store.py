"""StateStore on Redis, for several konnect instances behind one load balancer.

Every operation is one round trip. konnect relies on Redis keeping what it was told: with
persistence off or an evicting memory policy a Redis restart or a full memory forgets
revocations and refresh-token families, so `problems` reports both at startup.

Connection problems surface as `StateStoreUnavailable`, so requests that need shared state
fail closed with a clear answer and recover by themselves when Redis is back (the client
reconnects on the next call).
"""

from __future__ import annotations

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from konnect.state.base import StateStoreUnavailable

_KEY_PREFIX = "konnect:"
# Compare-and-set in one step; an empty expected value stands for "absent".
_SWAP = """
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[1] == '') or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""


class RedisStateStore:
    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        self._redis = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=30,
            decode_responses=True,
        )
        self._swap = self._redis.register_script(_SWAP)

    @staticmethod
    def _key(key: str) -> str:
        return _KEY_PREFIX + key

    @staticmethod
    def _ttl_ms(ttl: float) -> int:
        return max(int(ttl * 1000), 1)

    async def claim(self, key: str, ttl: float, value: str = "1") -> bool:
        try:
            result = await self._redis.set(self._key(key), value, px=self._ttl_ms(ttl), nx=True)
        except RedisError as exc:
            raise StateStoreUnavailable(f"redis: {exc.__class__.__name__}") from None
        return bool(result)

    async def get(self, key: str) -> str | None:
        try:
            value = await self._redis.get(self._key(key))
        except RedisError as exc:
            raise StateStoreUnavailable(f"redis: {exc.__class__.__name__}") from None
        return None if value is None else str(value)

    async def put(self, key: str, value: str, ttl: float) -> None:
        try:
            await self._redis.set(self._key(key), value, px=self._ttl_ms(ttl))
        except RedisError as exc:
            raise StateStoreUnavailable(f"redis: {exc.__class__.__name__}") from None

    async def swap(self, key: str, expected: str | None, value: str, ttl: float) -> bool:
        try:
            result = await self._swap(
                keys=[self._key(key)], args=[expected or "", value, self._ttl_ms(ttl)]
            )
        except RedisError as exc:
            raise StateStoreUnavailable(f"redis: {exc.__class__.__name__}") from None
        return bool(result)

    async def increment(self, key: str, ttl: float) -> int:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(self._key(key))
                pipe.pexpire(self._key(key), self._ttl_ms(ttl), nx=True)
                count, _ = await pipe.execute()
        except RedisError as exc:
            raise StateStoreUnavailable(f"redis: {exc.__class__.__name__}") from None
        return int(count)

    async def problems(self) -> list[str]:
        try:
            persistence = await self._redis.info("persistence")
            memory = await self._redis.info("memory")
        except RedisError as exc:
            return [f"cannot check Redis persistence and eviction: {exc.__class__.__name__}"]
        found = []
        if str(persistence.get("aof_enabled", "0")) != "1":
            found.append(
                "Redis persistence is off (appendonly no): a Redis restart forgets revoked "
                "grants and refresh-token families, and every refresh token stops working; "
                "set appendonly yes"
            )
        policy = str(memory.get("maxmemory_policy", "noeviction"))
        if policy != "noeviction":
            found.append(
                f"Redis maxmemory-policy is {policy}: a full Redis evicts revocations and "
                "refresh-token families; set maxmemory-policy noeviction"
            )
        return found

    async def close(self) -> None:
        await self._redis.aclose()
