"""The shared cache store on Redis or Redis Cluster.

Layout: all variants of one URL path live in one hash,
``<prefix>cache:{<hash of the path>}``, one field per variant (the field is
the variant itself, the value :meth:`Entry.to_bytes`).  Every call touches a
single key, so the same commands work unchanged on Redis Cluster, and a
purge of a URL is one ``DEL``.  The hash expires when its longest-kept
variant is worthless; a variant past its own keep time is ignored on read.
A fill claim is a separate short-lived key in the same slot.

Every call is bounded by ``timeout`` and raises
:class:`~meterwall.gateway.cache.ports.CacheUnavailable` when Redis is down,
slow or refuses the command; the cache then behaves as a miss.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from meterwall.gateway.cache.entry import CacheKey, Entry
from meterwall.gateway.cache.ports import CacheUnavailable
from meterwall.metering.redis import MAX_CONNECTIONS
from meterwall.storage.bounded import bounded

_PUT = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[3])
if redis.call('TTL', KEYS[1]) < ttl then redis.call('EXPIRE', KEYS[1], ttl) end
return 1
"""
_GLOB = re.compile(r"([*?\[\]\\])")


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=12).hexdigest()


def _bounded(seconds: float) -> AbstractAsyncContextManager[None]:
    """Turn slowness and connection failures into :class:`CacheUnavailable`."""
    return bounded(seconds, "Redis", (RedisError,), CacheUnavailable)


class RedisCacheStore:
    """A :class:`~meterwall.gateway.cache.ports.CacheStore` on Redis or Redis Cluster."""

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "mw:",
        timeout: float = 0.5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._timeout = timeout
        self._clock = clock
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._connected = not isinstance(client, RedisCluster)
        self._connecting = asyncio.Lock()
        self._put = client.register_script(_PUT)

    @asynccontextmanager
    async def _call(self) -> AsyncIterator[None]:
        # The cluster client learns its map of slots on first use; parallel first
        # calls would each start learning it, so it is learnt once, under a lock.
        async with _bounded(self._timeout), self._slots:
            if not self._connected:
                async with self._connecting:
                    if not self._connected:
                        await self._client.initialize()
                        self._connected = True
            yield

    def hash_key(self, group: str) -> str:
        """The Redis key holding every variant of ``group``."""
        return f"{self._prefix}cache:{{{_digest(group)}}}"

    def _claim_key(self, key: CacheKey) -> str:
        return f"{self._prefix}cache-fill:{{{_digest(key.group)}}}:{_digest(key.variant)}"

    async def get(self, key: CacheKey) -> Entry | None:
        """The entry under ``key``, unless it is past its keep time."""
        async with self._call():
            value = await self._client.hget(self.hash_key(key.group), key.variant)
        if value is None:
            return None
        entry = Entry.from_bytes(bytes(value))
        if entry is None or entry.freshness.keep_until <= self._clock():
            return None
        return entry

    async def put(self, key: CacheKey, entry: Entry) -> None:
        """Keep ``entry``; the hash lives as long as its longest-kept variant."""
        ttl = max(1, math.ceil(entry.freshness.keep_until - self._clock()))
        async with self._call():
            await self._put(
                keys=[self.hash_key(key.group)], args=[key.variant, entry.to_bytes(), ttl]
            )

    async def delete(self, key: CacheKey) -> None:
        """Drop the entry under ``key``."""
        async with self._call():
            await self._client.hdel(self.hash_key(key.group), key.variant)

    async def purge(self, groups: Sequence[str]) -> int:
        """Drop every variant of ``groups`` (one ``DEL`` per group)."""
        dropped = 0
        for group in groups:
            async with self._call():
                dropped += int(await self._client.delete(self.hash_key(group)))
        return dropped

    async def purge_all(self) -> int:
        """Drop every cached response under this prefix, on every node."""
        pattern = _GLOB.sub(r"\\\1", self._prefix) + "cache:*"
        dropped = 0
        async with _bounded(max(self._timeout, 30.0)):
            if not self._connected:
                await self._client.initialize()
                self._connected = True
            async for name in self._client.scan_iter(match=pattern, count=500):
                dropped += int(await self._client.unlink(name))
        return dropped

    async def claim(self, key: CacheKey, seconds: float) -> bool:
        """Try to become the one node that fills ``key`` for ``seconds``."""
        milliseconds = max(1, math.ceil(seconds * 1000))
        async with self._call():
            return bool(
                await self._client.set(self._claim_key(key), b"1", nx=True, px=milliseconds)
            )

    async def release(self, key: CacheKey) -> None:
        """Give up a fill claim."""
        async with self._call():
            await self._client.delete(self._claim_key(key))

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
