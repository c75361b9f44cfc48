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
    counted_at: datetime


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

    async def forget(self, reader_id: str) -> None:
        """Delete everything stored about this reader's meter."""
        ...

    async def ping(self) -> None:
        """Raise :class:`MeterUnavailable` unless the store answers."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
