"""A small in-process cache of articles by slug, in front of the article store.

An article page looks its article up on every request; articles change
rarely, so each process keeps the ones read recently for ``ttl`` seconds.
Writes through this store (``save_all``) empty the cache at once.  Writes
made elsewhere (``meterwall import`` in another process, another worker)
are seen within ``ttl`` seconds, which bounds how long a changed article
(including a change of its access level) can be served as it was.  Articles
are immutable, so sharing one between requests is safe.  Misses (unknown
slugs) are never cached: a new article appears as soon as it is stored, and
random slugs cannot fill the cache.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.content.model import Article
from meterwall.content.store import ArticleStore


class CachedArticleStore(ArticleStore):
    """An :class:`ArticleStore` that remembers articles by slug for ``ttl`` seconds."""

    def __init__(
        self,
        engine: AsyncEngine,
        ttl: float,
        max_entries: int = 2_048,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(engine)
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Article]] = OrderedDict()

    async def by_slug(self, slug: str) -> Article | None:
        """The article with this slug, from memory while it is fresh."""
        key = slug.lower()
        now = self._clock()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            self._entries.move_to_end(key)
            return hit[1]
        found = await super().by_slug(slug)
        if found is None:
            self._entries.pop(key, None)
            return None
        self._entries[key] = (now + self._ttl, found)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return found

    async def save_all(self, items: Iterable[tuple[Article, str]]) -> int:
        """Save as :class:`ArticleStore` does, then forget every cached article."""
        try:
            return await super().save_all(items)
        finally:
            self._entries.clear()

    def forget(self) -> None:
        """Drop every cached article (after a change made outside this store)."""
        self._entries.clear()
