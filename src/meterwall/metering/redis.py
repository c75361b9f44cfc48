"""The meter on Redis or Redis Cluster: one atomic server-side script per check.

Layout, chosen for memory (well under 128 bytes per reader per period at a
limit of 5):

* Readers are spread over ``buckets`` hashes, ``<prefix>{<n>}``.  The hash
  field of a reader is 8 bytes of a keyed hash of the reader id, so one
  reader's whole meter is one field of one key: every call touches a single
  key, which is what makes the same scripts work unchanged on Redis Cluster.
  Small hashes stay in Redis's compact listpack encoding (up to
  ``hash-max-listpack-entries`` fields of at most ``hash-max-listpack-value``
  bytes), so aim for about 100 readers per bucket.
* A field's value is ``tag(2) | expires(4) | n * (article(6) | counted_at(4))``:
  a 2-byte hash of the window key (another window's reads never count), the
  Unix second after which the field is worthless, and one 10-byte record per
  counted article (a 6-byte hash of its id and the second it counted).
  Reads before ``window.since`` are dropped whenever the field is rewritten.
* The bucket key expires when the last window written to it ends; in a
  rolling window, where a busy bucket never expires, each write also samples
  two other fields and deletes those whose window has ended.
* Article ids are recorded once in ``<prefix>articles`` (hash of id -> id) so
  that :meth:`RedisMeterStore.counted` can name the articles; a record whose
  hash is not there is a read kept as a bare count (see ``forget``).

Times are kept to the second.  Every call is bounded by ``timeout`` and
raises :class:`~meterwall.metering.ports.MeterUnavailable` when Redis is down,
slow or refuses the command.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import struct
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

from meterwall.access.model import MeterState, MeterWindow
from meterwall.metering.budget import hour_window, network_key
from meterwall.metering.ports import CountedRead, MeterUnavailable
from meterwall.storage.bounded import bounded
from meterwall.storage.pipelined_redis import PipelinedRedis

DEFAULT_BUCKETS = 16_384
"""Bucket hashes meters are spread over (suits about 100 thousand to 8 million readers)."""

DEFAULT_TIMEOUT = 0.25
"""Seconds one meter call may take before the store counts as unavailable."""

MAX_CONNECTIONS = 64
"""Connections per Redis node; calls beyond that wait (within their timeout)."""

_RECORD = 10
_HEADER = 6
_KNOWN_ARTICLES_MAX = 100_000

_CHECK_AND_RECORD = """
local key, field, tag, art = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local now, since, expires = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local limit, ttl = tonumber(ARGV[7]), tonumber(ARGV[8])
local live, found = {}, false
local value = redis.call('HGET', key, field)
if value and string.sub(value, 1, 2) == tag then
  for i = 7, #value - 9, 10 do
    if struct.unpack('>I4', value, i + 6) >= since then
      live[#live + 1] = string.sub(value, i, i + 9)
      if string.sub(value, i, i + 5) == art then found = true end
    end
  end
end
if found then return {#live, 1} end
if #live >= limit then return {#live, 0} end
live[#live + 1] = art .. struct.pack('>I4', now)
redis.call('HSET', key, field, tag .. struct.pack('>I4', expires) .. table.concat(live))
redis.call('EXPIRE', key, ttl, 'NX')
redis.call('EXPIRE', key, ttl, 'GT')
local sample = redis.call('HRANDFIELD', key, 2, 'WITHVALUES')
for j = 1, #sample, 2 do
  local other = sample[j + 1]
  if #other < 6 or struct.unpack('>I4', other, 3) <= now then
    redis.call('HDEL', key, sample[j])
  end
end
return {#live, 1}
"""

_MERGE_INTO = """
local key, field, tag, incoming = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local since, expires, ttl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local order, at = {}, {}
local function add(h, t)
  if at[h] == nil then
    order[#order + 1] = h
    at[h] = t
  elseif t < at[h] then
    at[h] = t
  end
end
local value = redis.call('HGET', key, field)
if value and string.sub(value, 1, 2) == tag then
  expires = math.max(expires, struct.unpack('>I4', value, 3))
  for i = 7, #value - 9, 10 do
    local t = struct.unpack('>I4', value, i + 6)
    if t >= since then add(string.sub(value, i, i + 5), t) end
  end
end
local before = #order
for i = 1, #incoming - 9, 10 do
  local t = struct.unpack('>I4', incoming, i + 6)
  if t >= since then add(string.sub(incoming, i, i + 5), t) end
end
if #incoming > 0 then
  local parts = {}
  for n, h in ipairs(order) do parts[n] = h .. struct.pack('>I4', at[h]) end
  redis.call('HSET', key, field, tag .. struct.pack('>I4', expires) .. table.concat(parts))
  redis.call('EXPIRE', key, ttl, 'NX')
  redis.call('EXPIRE', key, ttl, 'GT')
end
return #order
"""

_ADMIT = """
local key, member, limit, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('SISMEMBER', key, member) == 1 then return 1 end
if redis.call('SCARD', key) >= limit then return 0 end
redis.call('SADD', key, member)
redis.call('EXPIRE', key, ttl)
return 1
"""
"""Admit a reader among a network's readers of the hour: one set per network and hour."""

_REMOVE = """
local key, field, tag, gone = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local value = redis.call('HGET', key, field)
if not value or string.sub(value, 1, 2) ~= tag then return 0 end
local drop = {}
for i = 1, #gone - 9, 10 do drop[string.sub(gone, i, i + 9)] = true end
local keep = {}
for i = 7, #value - 9, 10 do
  local record = string.sub(value, i, i + 9)
  if not drop[record] then keep[#keep + 1] = record end
end
if #keep == 0 then
  redis.call('HDEL', key, field)
else
  redis.call('HSET', key, field, string.sub(value, 1, 6) .. table.concat(keep))
end
return #keep
"""

_KEEP_COUNT = """
local key, field, tag, nonce = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local since, at = tonumber(ARGV[4]), tonumber(ARGV[5])
local value = redis.call('HGET', key, field)
if not value then return 0 end
local kept = {}
if string.sub(value, 1, 2) == tag then
  for i = 7, #value - 9, 10 do
    local t = struct.unpack('>I4', value, i + 6)
    if t >= since then
      if at > 0 then t = at end
      kept[#kept + 1] = nonce .. struct.pack('>I2', #kept) .. struct.pack('>I4', t)
    end
  end
end
if #kept == 0 then
  redis.call('HDEL', key, field)
else
  redis.call('HSET', key, field, string.sub(value, 1, 6) .. table.concat(kept))
end
return #kept
"""


def _digest(value: str, size: int, person: bytes) -> bytes:
    return hashlib.blake2b(value.encode(), digest_size=size, person=person).digest()


def _seconds(moment: datetime) -> int:
    return math.floor(moment.timestamp())


def _records(value: bytes | None, tag: bytes, since: int) -> Iterator[tuple[bytes, int]]:
    """The (article hash, counted second) records of a field that are in the window."""
    if not value or value[:2] != tag:
        return
    for offset in range(_HEADER, len(value) - _RECORD + 1, _RECORD):
        (counted,) = struct.unpack_from(">I", value, offset + 6)
        if counted >= since:
            yield value[offset : offset + 6], counted


async def _persistence_config(execute: Any) -> tuple[str, str]:
    """``appendonly`` and ``save`` of one Redis server, as text."""
    found: list[str] = []
    for name in ("appendonly", "save"):
        answer = await execute("CONFIG", "GET", name)
        pairs = (
            dict(answer)
            if isinstance(answer, dict)
            else dict(zip(answer[::2], answer[1::2], strict=True))
        )
        value = next(iter(pairs.values()), b"")
        found.append(value.decode() if isinstance(value, bytes) else str(value))
    return found[0], found[1]


def _pack(records: list[tuple[bytes, int]]) -> bytes:
    return b"".join(h + struct.pack(">I", t) for h, t in records)


def _bounded(seconds: float) -> AbstractAsyncContextManager[None]:
    """Turn slowness and connection failures into :class:`MeterUnavailable`."""
    return bounded(seconds, "Redis", (RedisError,), MeterUnavailable)


def redis_client(url: str, *, cluster: bool = False, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """A ``redis.asyncio`` client (or cluster client) for ``url`` that fails fast.

    Socket operations give up after ``timeout`` seconds and a failed command
    is retried once at once, which is what reconnects after Redis restarts.
    At most :data:`MAX_CONNECTIONS` connections are opened per node.
    """
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 1),
        "max_connections": MAX_CONNECTIONS,
    }
    if cluster:
        return RedisCluster.from_url(url, **options)
    return Redis.from_url(url, **options)


class RedisMeterStore:
    """A :class:`~meterwall.metering.ports.MeterStore` on Redis or Redis Cluster.

    ``pipelined``, for a single Redis server, carries the per-page call
    (check and record) over one shared pipelined connection, at a quarter of
    redis-py's client CPU; everything else goes through ``client``.
    """

    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        prefix: str = "mw:",
        buckets: int = DEFAULT_BUCKETS,
        timeout: float = DEFAULT_TIMEOUT,
        pipelined: PipelinedRedis | None = None,
    ) -> None:
        if buckets < 1:
            raise ValueError("buckets must be at least 1")
        self._client = client
        self._pipelined = pipelined
        self._prefix = prefix
        self._buckets = buckets
        self._timeout = timeout
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._connected = not isinstance(client, RedisCluster)
        self._connecting = asyncio.Lock()
        self._articles_key = f"{prefix}articles"
        self._known_articles: set[bytes] = set()
        self._check = client.register_script(_CHECK_AND_RECORD)
        self._merge_into = client.register_script(_MERGE_INTO)
        self._remove = client.register_script(_REMOVE)
        self._admit = client.register_script(_ADMIT)
        self._keep_count = client.register_script(_KEEP_COUNT)

    @asynccontextmanager
    async def _call(self) -> AsyncIterator[None]:
        """One bounded call: a connection slot, and the cluster's map of slots to nodes.

        The cluster client learns the map on first use; a burst of parallel
        first calls would each start learning it and break each other's
        connections, so it is learnt once, under a lock.
        """
        async with _bounded(self._timeout), self._slots:
            if not self._connected:
                async with self._connecting:
                    if not self._connected:
                        assert isinstance(self._client, RedisCluster)
                        await self._client.initialize()
                        self._connected = True
            yield

    def _slot(self, reader_id: str) -> tuple[str, bytes]:
        """The bucket key and the field holding this reader's meter."""
        digest = _digest(reader_id, 12, b"mw-reader")
        bucket = int.from_bytes(digest[8:], "big") % self._buckets
        return f"{self._prefix}{{{bucket}}}", digest[:8]

    @staticmethod
    def _tag(window: MeterWindow) -> bytes:
        return _digest(window.key, 2, b"mw-window")

    @staticmethod
    def _ttl(window: MeterWindow, now: datetime) -> int:
        # Relative to the caller's clock, so a clock that differs from the Redis
        # server's can never expire a live meter early.
        return max(1, math.ceil((window.expires - now).total_seconds()))

    async def _remember_article(self, article_id: str, article: bytes) -> None:
        if article in self._known_articles:
            return
        if self._pipelined is not None:
            await self._pipelined.execute("HSET", self._articles_key, article, article_id)
        else:
            await self._client.hset(self._articles_key, article, article_id)
        if len(self._known_articles) >= _KNOWN_ARTICLES_MAX:
            self._known_articles.clear()
        self._known_articles.add(article)

    async def check_and_record(
        self, reader_id: str, window: MeterWindow, article_id: str, limit: int, now: datetime
    ) -> MeterState:
        """Count ``article_id`` for the reader if allowed (one Lua script)."""
        key, field = self._slot(reader_id)
        article = _digest(article_id, 6, b"mw-article")
        args: list[bytes | int] = [
            field,
            self._tag(window),
            article,
            _seconds(now),
            math.ceil(window.since.timestamp()),
            math.ceil(window.expires.timestamp()),
            limit,
            self._ttl(window, now),
        ]
        if self._pipelined is not None:
            # One shared connection: no connection slot to wait for, only the time bound.
            async with _bounded(self._timeout):
                await self._remember_article(article_id, article)
                reply = await self._pipelined.evalsha(
                    self._check.sha, _CHECK_AND_RECORD, [key], args
                )
        else:
            async with self._call():
                await self._remember_article(article_id, article)
                reply = await self._check(keys=[key], args=args)
        used, counted = reply
        return MeterState(used=int(used), counted=bool(counted))

    async def _records(self, reader_id: str, window: MeterWindow) -> list[tuple[bytes, int]]:
        key, field = self._slot(reader_id)
        value = await self._client.hget(key, field)
        assert not isinstance(value, str), "the client must not decode responses"
        return list(_records(value, self._tag(window), math.ceil(window.since.timestamp())))

    async def counted(self, reader_id: str, window: MeterWindow) -> list[CountedRead]:
        """The reader's counted articles in the window, oldest first."""
        async with self._call():
            records = await self._records(reader_id, window)
            if not records:
                return []
            names = await self._client.hmget(self._articles_key, [h for h, _ in records])
        # A record whose article was never named is a read kept as a bare count.
        reads = [
            CountedRead(
                "" if name is None else name if isinstance(name, str) else name.decode(),
                datetime.fromtimestamp(t, UTC),
            )
            for (h, t), name in zip(records, names, strict=True)
        ]
        return sorted(reads, key=lambda r: (r.counted_at, r.article_id))

    async def merge(
        self, source_reader_id: str, target_reader_id: str, window: MeterWindow, now: datetime
    ) -> int:
        """Fold the source reader's reads in the window into the target's.

        The union is written to the target in one script, then exactly the
        moved records are removed from the source: the two readers may live on
        different cluster nodes, and a read the source makes meanwhile stays.
        """
        tag = self._tag(window)
        since = math.ceil(window.since.timestamp())
        target_key, target_field = self._slot(target_reader_id)
        async with self._call():
            moved = (
                []
                if source_reader_id == target_reader_id
                else await self._records(source_reader_id, window)
            )
            count = await self._merge_into(
                keys=[target_key],
                args=[
                    target_field,
                    tag,
                    _pack(moved),
                    since,
                    math.ceil(window.expires.timestamp()),
                    self._ttl(window, now),
                ],
            )
            if moved:
                source_key, source_field = self._slot(source_reader_id)
                await self._remove(keys=[source_key], args=[source_field, tag, _pack(moved)])
        return int(count)

    async def admit(self, network: str, reader_id: str, limit: int, now: datetime) -> bool:
        """Admit the reader within the network's hourly budget (one Lua script on one set)."""
        if limit < 1:
            return False
        window = hour_window(now)
        key = f"{self._prefix}{network_key(network)}:{window.key}"
        member = _digest(reader_id, 8, b"mw-reader")
        async with self._call():
            admitted = await self._admit(keys=[key], args=[member, limit, self._ttl(window, now)])
        return bool(admitted)

    async def forget(self, reader_id: str, keep_count_in: MeterWindow | None = None) -> None:
        """Delete this reader's meter; with a window, its reads stay as a bare count.

        A kept read's article hash becomes a random 4-byte nonce of this call
        and its index, which no article id is recorded under, so it is never
        named and never merges into another read.
        """
        key, field = self._slot(reader_id)
        async with self._call():
            if keep_count_in is None:
                await self._client.hdel(key, field)
                return
            window = keep_count_in
            since = math.ceil(window.since.timestamp())
            await self._keep_count(
                keys=[key],
                args=[
                    field,
                    self._tag(window),
                    os.urandom(4),
                    since,
                    since if window.resets_at is not None else 0,  # as ``kept_at`` says
                ],
            )

    async def persistence_problem(self) -> str | None:
        """Why meters would not survive a Redis restart; ``""`` when they would.

        ``None`` when it cannot be told (``CONFIG`` disabled, as on some managed
        services).  Read on every primary of a cluster: one node without
        persistence loses the meters of its slots.
        """
        client = self._client
        try:
            async with self._call():
                if isinstance(client, RedisCluster):
                    configs = [
                        await _persistence_config(
                            lambda *a, node=node: client.execute_command(*a, target_nodes=node)
                        )
                        for node in client.get_primaries()
                    ]
                else:
                    configs = [await _persistence_config(client.execute_command)]
        except ResponseError:
            return None
        for appendonly, save in configs:
            if appendonly != "yes" and not save.strip():
                return (
                    "Redis keeps nothing on disk (appendonly no, no save points): every meter "
                    "is forgotten when it restarts; turn on appendonly (docs/production-stores.md)"
                )
        return ""

    async def ping(self) -> None:
        """Raise :class:`MeterUnavailable` unless Redis answers."""
        async with self._call():
            await self._client.ping()

    async def close(self) -> None:
        """Close the client's connections."""
        if self._pipelined is not None:
            await self._pipelined.aclose()
        await self._client.aclose()
