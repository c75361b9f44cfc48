"""The in-process cache store: least recently used entries go first, bounded in bytes."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from meterwall.gateway.cache.entry import CacheKey, Entry
from meterwall.gateway.cache.journal import ALL, PurgeJournal


class MemoryCacheStore:
    """A :class:`~meterwall.gateway.cache.ports.CacheStore` in this process's memory.

    Holds at most ``max_bytes`` (by :attr:`Entry.size`); an entry larger than
    a quarter of that is not kept at all, so one response cannot empty the
    cache.  With a ``journal``, purges made by other processes on the same
    machine (other workers, ``meterwall cache purge``) are applied too.
    """

    def __init__(
        self,
        max_bytes: int,
        journal: PurgeJournal | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_bytes = max_bytes
        self._journal = journal
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], Entry] = OrderedDict()
        self._groups: dict[str, set[str]] = {}
        self.size = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _apply_journal(self) -> None:
        if self._journal is None:
            return
        for groups in self._journal.poll():
            if groups == ALL:
                self._clear()
            else:
                self._drop_groups(groups)

    async def get(self, key: CacheKey) -> Entry | None:
        """The entry under ``key``; it becomes the most recently used."""
        self._apply_journal()
        slot = (key.group, key.variant)
        entry = self._entries.get(slot)
        if entry is None:
            return None
        if entry.freshness.keep_until <= self._clock():
            self._remove(slot)
            return None
        self._entries.move_to_end(slot)
        return entry

    async def put(self, key: CacheKey, entry: Entry) -> None:
        """Keep ``entry``, evicting the least recently used entries beyond ``max_bytes``."""
        self._apply_journal()
        slot = (key.group, key.variant)
        self._remove(slot)
        if entry.size > self.max_bytes // 4:
            return
        self._entries[slot] = entry
        self._groups.setdefault(key.group, set()).add(key.variant)
        self.size += entry.size
        while self.size > self.max_bytes and self._entries:
            self._remove(next(iter(self._entries)))

    async def delete(self, key: CacheKey) -> None:
        """Drop the entry under ``key``."""
        self._remove((key.group, key.variant))

    def _remove(self, slot: tuple[str, str]) -> None:
        entry = self._entries.pop(slot, None)
        if entry is None:
            return
        self.size -= entry.size
        variants = self._groups.get(slot[0])
        if variants is not None:
            variants.discard(slot[1])
            if not variants:
                del self._groups[slot[0]]

    def _drop_groups(self, groups: Sequence[str]) -> int:
        dropped = 0
        for group in groups:
            variants = self._groups.get(group)
            if variants:
                dropped += 1
                for variant in list(variants):
                    self._remove((group, variant))
        return dropped

    def _clear(self) -> int:
        count = len(self._groups)
        self._entries.clear()
        self._groups.clear()
        self.size = 0
        return count

    async def purge(self, groups: Sequence[str]) -> int:
        """Drop every variant of ``groups`` here, and tell the other processes."""
        dropped = self._drop_groups(groups)
        if self._journal is not None:
            self._journal.record(groups)
        return dropped

    async def purge_all(self) -> int:
        """Drop everything here, and tell the other processes."""
        dropped = self._clear()
        if self._journal is not None:
            self._journal.record(None)
        return dropped

    async def claim(self, key: CacheKey, seconds: float) -> bool:
        """Always granted: within a process, fills are coalesced before they reach a store."""
        return True

    async def release(self, key: CacheKey) -> None:
        """Nothing to release."""

    async def close(self) -> None:
        """Nothing to close."""
