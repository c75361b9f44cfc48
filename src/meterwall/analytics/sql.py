"""Events in the configured relational database (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.analytics.events import Event, EventKind
from meterwall.storage.schema import events
from meterwall.storage.times import utc


class SqlEventStore:
    """An :class:`~meterwall.analytics.ports.EventSink` that can also purge and forget."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def write(self, batch: Sequence[Event]) -> None:
        """Insert ``batch`` in one transaction."""
        if not batch:
            return
        rows = [{**asdict(e), "kind": e.kind.value, "at": utc(e.at)} for e in batch]
        async with self._engine.begin() as conn:
            await conn.execute(insert(events), rows)

    async def purge(self, before: datetime) -> int:
        """Delete events older than ``before``; how many went."""
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(events).where(events.c.at < utc(before)))
        return int(result.rowcount or 0)

    async def forget(self, pseudonyms: Collection[str]) -> int:
        """Delete every event of these pseudonyms (as reader or as alias); how many went."""
        if not pseudonyms:
            return 0
        names = list(pseudonyms)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(events).where(or_(events.c.reader.in_(names), events.c.alias.in_(names)))
            )
        return int(result.rowcount or 0)

    async def anonymise(self, pseudonyms: Collection[str], replacement: str) -> int:
        """Cut these pseudonyms' events loose from the person; how many were rewritten.

        Each event keeps what the publisher's counts need (its kind, day,
        referrer class and experiment variant) under ``replacement``, a
        pseudonym nothing else stores, so the funnel, revenue and experiment
        figures stay right; what was read (article, section), the time of
        day and any link to another pseudonym are dropped.
        """
        if not pseudonyms:
            return 0
        names = list(pseudonyms)
        theirs = or_(events.c.reader.in_(names), events.c.alias.in_(names))
        total = 0
        async with self._engine.begin() as conn:
            days = (await conn.execute(select(events.c.day).where(theirs).distinct())).scalars()
            for day in list(days):
                result = await conn.execute(
                    update(events)
                    .where(theirs, events.c.day == day)
                    .values(
                        reader=replacement,
                        alias="",
                        article_id="",
                        section="",
                        at=datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC),
                    )
                )
                total += int(result.rowcount or 0)
        return total

    async def of_readers(self, pseudonyms: Collection[str], limit: int = 1_000) -> list[Event]:
        """The newest events of these pseudonyms, newest first."""
        if not pseudonyms:
            return []
        names = list(pseudonyms)
        query = (
            select(events)
            .where(or_(events.c.reader.in_(names), events.c.alias.in_(names)))
            .order_by(events.c.at.desc(), events.c.id.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            Event(
                kind=EventKind(r["kind"]),
                at=utc(r["at"]),
                day=r["day"],
                reader=r["reader"],
                alias=r["alias"],
                article_id=r["article_id"],
                section=r["section"],
                referrer=r["referrer"],
                experiment=r["experiment"],
                variant=r["variant"],
            )
            for r in rows
        ]
