"""Following one person across pseudonyms: the anonymous browser and the account it became.

A registration event links the account's pseudonym to the browser's; the
links form groups (union-find), and a subscription by any pseudonym of a
group counts for all of them.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.storage.schema import events


class Links:
    """Groups of pseudonyms known to be one person."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._parent: dict[str, str] = {}
        for a, b in pairs:
            self.join(a, b)

    def _root(self, name: str) -> str:
        parent = self._parent.setdefault(name, name)
        while parent != self._parent[parent]:
            self._parent[parent] = self._parent[self._parent[parent]]
            parent = self._parent[parent]
        self._parent[name] = parent
        return parent

    def join(self, a: str, b: str) -> None:
        """Record that ``a`` and ``b`` are the same person."""
        if a and b:
            root_a, root_b = self._root(a), self._root(b)
            if root_a != root_b:
                self._parent[root_b] = root_a

    def names(self) -> list[str]:
        """Every pseudonym that has a link."""
        return list(self._parent)

    def person(self, name: str) -> str:
        """One representative pseudonym of ``name``'s group (``name`` itself if unlinked)."""
        return self._root(name) if name in self._parent else name


async def load_links(engine: AsyncEngine) -> Links:
    """Every link recorded in the events table."""
    query = select(events.c.reader, events.c.alias).where(events.c.alias != "").distinct()
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return Links((r.reader, r.alias) for r in rows)
