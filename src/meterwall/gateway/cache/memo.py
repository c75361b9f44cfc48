"""Work derived from a cached upstream copy, done once per copy: decoding, analysis, cutting.

Keys start with the copy's :attr:`~meterwall.gateway.cache.entry.Entry.version`,
which changes whenever a new upstream body is stored, so nothing derived
from an old copy is ever used for a new one.  Values never hold reader
data: a decoded body, an analysed page, a prepared outcome (full text or
teaser) with empty banner and gate slots.  Least recently used values go
first once ``max_bytes`` is reached.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar, cast

T = TypeVar("T")


class Memo:
    """A bounded, per-process memo of values derived from cached copies."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.builds = 0
        self._values: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._values)

    def get(
        self, key: tuple[Hashable, ...], build: Callable[[], T], weigh: Callable[[T], int]
    ) -> T:
        """The value under ``key``, built (and remembered) on first use.

        A value that fails to build is not remembered: the exception reaches
        the caller, and the next call tries again.
        """
        found = self._values.get(key)
        if found is not None:
            self._values.move_to_end(key)
            return cast(T, found[0])
        value = build()
        self.builds += 1
        weight = max(1, weigh(value))
        if weight <= self.max_bytes // 4:
            self._values[key] = (value, weight)
            self.size += weight
            while self.size > self.max_bytes:
                _, (_, dropped) = self._values.popitem(last=False)
                self.size -= dropped
        return value

    def clear(self) -> None:
        """Forget everything."""
        self._values.clear()
        self.size = 0
