"""The meter store port: exact, atomic per-reader counting of distinct articles.

Every adapter (SQLite, PostgreSQL, Redis, Redis Cluster) passes the contract
suite in ``tests/contract``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from meterwall.access.model import MeterState, MeterWindow


@dataclass(frozen=True, slots=True)
class CountedRead:
    """One article that counted against a reader's meter, and when."""

    article_id: str
    """The article, or ``""`` for a read kept as a bare count (see ``MeterStore.forget``)."""
    counted_at: datetime


def kept_at(window: MeterWindow, counted_at: datetime) -> datetime:
    """The time a read kept as a bare count keeps.

    In a calendar period every read counts until the same reset, so the
    period's start is kept instead of the real time; in a rolling window a
    read stops counting a fixed span after it counted, so its time stays.
    """
    return window.since if window.resets_at is not None else counted_at


class MeterUnavailable(Exception):
    """The meter store could not be reached or did not answer in time."""


class MeterStore(Protocol):
    """Where meters live.

    ``check_and_record`` is one atomic step per (reader, window): an article
    already counted in the window is free and changes nothing; otherwise it is
    recorded only while fewer than ``limit`` distinct articles are counted.
    Parallel calls never record more than ``limit`` articles.
    """

    async def check_and_record(
        self, reader_id: str, window: MeterWindow, article_id: str, limit: int, now: datetime
    ) -> MeterState:
        """Count ``article_id`` for the reader if allowed, and report the meter."""
        ...

    async def counted(self, reader_id: str, window: MeterWindow) -> list[CountedRead]:
        """The reader's counted articles in the window, oldest first."""
        ...

    async def merge(
        self, source_reader_id: str, target_reader_id: str, window: MeterWindow, now: datetime
    ) -> int:
        """Fold the source reader's reads in ``window`` into the target's meter.

        Used at login: the browser's anonymous meter joins the account's.
        Afterwards every article that counted for either reader in the window
        counts once for the target (an article in both keeps its earlier
        ``counted_at``), and the source has nothing left in the window.  Reads
        outside the window (``counted_at < window.since``) are not moved.  The
        union may exceed any limit: a merge records reads already made and
        never grants one.  Merging a reader into itself, or merging twice,
        changes nothing.  Atomic per target, like ``check_and_record``.
        Returns the number of distinct articles counted for the target in the
        window afterwards.
        """
        ...

    async def admit(self, network: str, reader_id: str, limit: int, now: datetime) -> bool:
        """Whether ``reader_id`` is among the first ``limit`` distinct readers of a client
        network in the clock hour of ``now`` (see :mod:`meterwall.metering.budget`).

        Admitting a reader already admitted this hour is free; parallel calls
        never admit more than ``limit`` distinct readers, like
        ``check_and_record``.  A limit of 0 admits nobody.
        """
        ...

    async def forget(self, reader_id: str, keep_count_in: MeterWindow | None = None) -> None:
        """Delete everything stored about this reader's meter.

        With ``keep_count_in``, the reads counted in that window survive as a
        bare count: the same number of reads, each with no article id
        (:meth:`counted` lists them with ``article_id == ""``) and the time
        :func:`kept_at` gives, so deleting one's reading data never restarts
        the meter.  An article read before counts again if read again.
        Reads kept this way merge like any other, never into one another.
        """
        ...

    async def ping(self) -> None:
        """Raise :class:`MeterUnavailable` unless the store answers."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
