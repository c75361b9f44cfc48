"""The meter on a relational database (SQLite by default, PostgreSQL in production).

Atomicity: on SQLite the transaction begins with ``BEGIN IMMEDIATE``, which
holds the database's write lock from the first read; on PostgreSQL a
transaction-scoped advisory lock on (reader, window) serialises the check and
the insert for one reader while other readers proceed in parallel.  Under
PostgreSQL's default READ COMMITTED isolation each statement sees what the
previous lock holder committed, because the lock is released only after its
commit is visible.

A check whose answer needs no write (an article already counted, or a meter
already at its limit) is answered from a plain read first, without the lock:
most page views are re-reads or gated, and they then neither wait for nor
hold the write lock (on SQLite, the whole database's).  Only a read that may
count takes the lock, and decides again under it.  The read-only answer is
as correct as a locked one: counted reads only leave a window by a merge or
a deletion, and answering from just before one of those is what a locked
check queued ahead of it would have said.

Every call is bounded by ``timeout``: a database that is down or does not
answer raises :class:`~meterwall.metering.ports.MeterUnavailable` promptly.
Cancelling a call rolls its transaction back, which also releases the lock.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select, text, tuple_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from meterwall.access.model import MeterState, MeterWindow
from meterwall.metering.budget import hour_window, network_key
from meterwall.metering.ports import CountedRead, MeterUnavailable, kept_at
from meterwall.storage.bounded import bounded
from meterwall.storage.engine import IMMEDIATE, LOCK_WAIT_MS
from meterwall.storage.schema import meter_reads
from meterwall.storage.times import utc
from meterwall.storage.transactions import write_transaction

DEFAULT_TIMEOUT = 0.25
"""Seconds one meter call may take before the store counts as unavailable."""

KEPT = "~kept~"
"""How the article id of a read kept as a bare count begins (then random, so two never merge)."""

PURGE_BATCH = 5_000
"""Expired rows deleted per transaction by :meth:`SqlMeterStore.purge_expired`."""


def _bounded(seconds: float) -> AbstractAsyncContextManager[None]:
    """Turn slowness and connection failures into :class:`MeterUnavailable`."""
    return bounded(seconds, "the database", (SQLAlchemyError,), MeterUnavailable)


def _live(rows: Sequence[Any], since: datetime) -> set[str]:
    """The articles of ``rows`` counted in the window."""
    return {r.article_id for r in rows if utc(r.counted_at) >= since}


def _answer(live: set[str], article_id: str, limit: int) -> MeterState | None:
    """The meter's answer if it needs no write: the article already counted, or no room."""
    if article_id in live:
        return MeterState(used=len(live), counted=True)
    if len(live) >= limit:
        return MeterState(used=len(live), counted=False)
    return None


class SqlMeterStore:
    """A :class:`~meterwall.metering.ports.MeterStore` on an SQLAlchemy async engine."""

    def __init__(self, engine: AsyncEngine, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._engine = engine
        self._timeout = timeout
        self._postgres = engine.dialect.name == "postgresql"
        # On SQLite, wait for the write lock no longer than the call may take.
        self._locking = {IMMEDIATE: True, LOCK_WAIT_MS: round(timeout * 1000)}

    async def _lock(self, conn: AsyncConnection, reader_id: str, window_key: str) -> None:
        if self._postgres:
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                {"k": f"{reader_id}:{window_key}"},
            )

    async def check_and_record(
        self, reader_id: str, window: MeterWindow, article_id: str, limit: int, now: datetime
    ) -> MeterState:
        """Count ``article_id`` for the reader if allowed: a plain read, then, only if
        the article may count, one locked transaction that decides again."""
        key = (
            meter_reads.c.reader_id == reader_id,
            meter_reads.c.window_key == window.key,
        )
        since = window.since.astimezone(UTC)
        reads = select(meter_reads.c.article_id, meter_reads.c.counted_at).where(*key)
        async with _bounded(self._timeout), self._engine.connect() as raw:
            rows = (await raw.execute(reads)).all()
            await raw.rollback()
            known = _answer(_live(rows, since), article_id, limit)
            if known is not None:
                return known
            conn = await raw.execution_options(**self._locking)
            async with conn.begin():
                await self._lock(conn, reader_id, window.key)
                rows = (await conn.execute(reads)).all()
                live = _live(rows, since)
                known = _answer(live, article_id, limit)
                if known is not None:
                    return known
                values = {
                    "counted_at": now.astimezone(UTC),
                    "expires_at": window.expires.astimezone(UTC),
                }
                if any(r.article_id == article_id for r in rows):
                    await conn.execute(
                        update(meter_reads)
                        .where(*key, meter_reads.c.article_id == article_id)
                        .values(**values)
                    )
                else:
                    await conn.execute(
                        insert(meter_reads).values(
                            reader_id=reader_id,
                            window_key=window.key,
                            article_id=article_id,
                            **values,
                        )
                    )
                return MeterState(used=len(live) + 1, counted=True)

    async def counted(self, reader_id: str, window: MeterWindow) -> list[CountedRead]:
        """The reader's counted articles in the window, oldest first."""
        query = (
            select(meter_reads.c.article_id, meter_reads.c.counted_at)
            .where(
                and_(
                    meter_reads.c.reader_id == reader_id,
                    meter_reads.c.window_key == window.key,
                    meter_reads.c.counted_at >= window.since.astimezone(UTC),
                )
            )
            .order_by(meter_reads.c.counted_at, meter_reads.c.article_id)
        )
        async with _bounded(self._timeout), self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            CountedRead("" if r.article_id.startswith(KEPT) else r.article_id, utc(r.counted_at))
            for r in rows
        ]

    async def merge(
        self, source_reader_id: str, target_reader_id: str, window: MeterWindow, now: datetime
    ) -> int:
        """Fold the source reader's reads in the window into the target's (one transaction)."""
        del now  # the window alone says which reads are live
        since = window.since.astimezone(UTC)
        target_key = (
            meter_reads.c.reader_id == target_reader_id,
            meter_reads.c.window_key == window.key,
        )
        source_key = (
            meter_reads.c.reader_id == source_reader_id,
            meter_reads.c.window_key == window.key,
        )
        columns = (meter_reads.c.article_id, meter_reads.c.counted_at, meter_reads.c.expires_at)
        async with _bounded(self._timeout), self._engine.connect() as raw:
            conn = await raw.execution_options(**self._locking)
            async with conn.begin():
                await self._lock(conn, target_reader_id, window.key)
                target = {
                    r.article_id: r
                    for r in (await conn.execute(select(*columns).where(*target_key)))
                }
                if source_reader_id != target_reader_id:
                    source = (await conn.execute(select(*columns).where(*source_key))).all()
                    for row in source:
                        if utc(row.counted_at) < since:
                            continue
                        mine = target.get(row.article_id)
                        if mine is None:
                            await conn.execute(
                                insert(meter_reads).values(
                                    reader_id=target_reader_id,
                                    window_key=window.key,
                                    article_id=row.article_id,
                                    counted_at=row.counted_at,
                                    expires_at=row.expires_at,
                                )
                            )
                        elif utc(mine.counted_at) < since or utc(row.counted_at) < utc(
                            mine.counted_at
                        ):
                            await conn.execute(
                                update(meter_reads)
                                .where(*target_key, meter_reads.c.article_id == row.article_id)
                                .values(counted_at=row.counted_at, expires_at=row.expires_at)
                            )
                        target[row.article_id] = row
                    await conn.execute(delete(meter_reads).where(*source_key))
                return sum(1 for r in target.values() if utc(r.counted_at) >= since)

    async def admit(self, network: str, reader_id: str, limit: int, now: datetime) -> bool:
        """Count the reader in the network's hour as a meter of its own counts an article:
        the same atomic check and record, under the network's key."""
        window = hour_window(now)
        state = await self.check_and_record(network_key(network), window, reader_id, limit, now)
        return state.counted

    async def forget(self, reader_id: str, keep_count_in: MeterWindow | None = None) -> None:
        """Delete every meter row of this reader, keeping the window's count if asked
        (one locked transaction, so a read made meanwhile is neither lost nor doubled)."""
        mine = meter_reads.c.reader_id == reader_id
        async with _bounded(self._timeout), self._engine.connect() as raw:
            conn = await raw.execution_options(**self._locking)
            async with conn.begin():
                kept = []
                if keep_count_in is not None:
                    window = keep_count_in
                    await self._lock(conn, reader_id, window.key)
                    since = window.since.astimezone(UTC)
                    rows = await conn.execute(
                        select(meter_reads.c.counted_at, meter_reads.c.expires_at).where(
                            mine, meter_reads.c.window_key == window.key
                        )
                    )
                    kept = [
                        {
                            "reader_id": reader_id,
                            "window_key": window.key,
                            "article_id": KEPT + secrets.token_hex(12),
                            "counted_at": kept_at(window, utc(r.counted_at)).astimezone(UTC),
                            "expires_at": r.expires_at,
                        }
                        for r in rows
                        if utc(r.counted_at) >= since
                    ]
                await conn.execute(delete(meter_reads).where(mine))
                if kept:
                    await conn.execute(insert(meter_reads), kept)

    async def purge_expired(self, now: datetime, batch: int = PURGE_BATCH) -> int:
        """Delete rows whose window ended before ``now``; returns how many went.

        Rows go ``batch`` at a time, one short transaction each, so a large
        backlog never holds SQLite's write lock long enough for readers' meter
        checks to time out.  Expired rows never count, so purging changes no
        meter.
        """
        cutoff = now.astimezone(UTC)
        key = (meter_reads.c.reader_id, meter_reads.c.window_key, meter_reads.c.article_id)
        total = 0
        while True:
            expired = select(*key).where(meter_reads.c.expires_at < cutoff).limit(batch)
            async with write_transaction(self._engine) as conn:
                result = await conn.execute(delete(meter_reads).where(tuple_(*key).in_(expired)))
            removed = int(result.rowcount or 0)
            total += removed
            if removed < batch:
                return total

    async def ping(self) -> None:
        """Raise :class:`MeterUnavailable` unless the database answers."""
        async with _bounded(self._timeout), self._engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        """The engine belongs to the app; nothing of its own to release."""
