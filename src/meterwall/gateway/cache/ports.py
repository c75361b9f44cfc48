"""The cache store port: where upstream responses are kept, shared or per process."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from meterwall.gateway.cache.entry import CacheKey, Entry


class CacheUnavailable(Exception):
    """The store cannot be reached or answered too slowly; the request goes upstream."""


class CacheStore(Protocol):
    """Keeps :class:`Entry` objects by :class:`CacheKey`.

    Every method may raise :class:`CacheUnavailable`.  Entries past their
    :attr:`~meterwall.gateway.cache.freshness.Freshness.keep_until` may be
    dropped at any time.
    """

    async def get(self, key: CacheKey) -> Entry | None:
        """The entry kept under ``key``, if any."""
        ...

    async def put(self, key: CacheKey, entry: Entry) -> None:
        """Keep ``entry`` under ``key``, replacing what was there."""
        ...

    async def delete(self, key: CacheKey) -> None:
        """Drop the entry under ``key``."""
        ...

    async def purge(self, groups: Sequence[str]) -> int:
        """Drop every entry of these groups (URL paths); how many groups held entries."""
        ...

    async def purge_all(self) -> int:
        """Drop every entry; how many groups held entries (where the store can tell)."""
        ...

    async def claim(self, key: CacheKey, seconds: float) -> bool:
        """Try to become the one process that fills ``key`` for the next ``seconds``."""
        ...

    async def release(self, key: CacheKey) -> None:
        """Give up a claim made by :meth:`claim`."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
