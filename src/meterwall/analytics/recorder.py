"""What request handlers call to record an event: ``services.events.record(...)``.

The recorder turns a handler's facts into a stored :class:`Event`: it
pseudonymises the reader id, classifies the Referer header (and drops the
rest of it), dates the event in the publisher's time zone, and tags it with
the reader's variant of the running experiment.  Then it hands the event to
the batched writer, so recording never waits for the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from meterwall.access.model import ArticleAccess, Decision
from meterwall.analytics.events import (
    PSEUDONYM_LENGTH,
    Event,
    EventKind,
    Pseudonyms,
    decision_events,
)
from meterwall.analytics.experiments import Assignment
from meterwall.analytics.referrers import classify_referrer
from meterwall.analytics.sql import SqlEventStore
from meterwall.analytics.writer import BatchedEventWriter

log = logging.getLogger(__name__)

PURGE_EVERY = timedelta(hours=24)


class EventRecorder:
    """Records funnel events off the request's hot path, and runs the retention purge."""

    def __init__(
        self,
        writer: BatchedEventWriter,
        store: SqlEventStore,
        pseudonyms: Pseudonyms,
        *,
        timezone: str,
        own_hosts: Collection[str],
        retention_days: int,
        clock: Callable[[], datetime],
        assignment: Callable[[str], Assignment | None] = lambda _reader_id: None,
    ) -> None:
        self.writer = writer
        self.store = store
        self.pseudonyms = pseudonyms
        self._zone = ZoneInfo(timezone)
        self._own_hosts = frozenset(h.casefold() for h in own_hosts)
        self.retention_days = retention_days
        self._clock = clock
        self._assignment = assignment
        self._purger: asyncio.Task[None] | None = None

    def record(
        self,
        kind: EventKind | str,
        *,
        reader_id: str,
        at: datetime,
        article_id: str = "",
        section: str = "",
        referer: str | None = None,
        alias_reader_id: str | None = None,
    ) -> None:
        """Record one event for ``reader_id`` (a cookie reader id or an account's meter id).

        ``alias_reader_id`` names the same person's other reader id; pass the
        anonymous browser's reader id when recording a ``registration`` so the
        funnel can follow the reader across signing up.  ``referer`` is the raw
        header; only its class is kept.
        """
        assigned = self._assignment(reader_id)
        self.writer.record(
            Event(
                kind=EventKind(kind),
                at=at,
                day=at.astimezone(self._zone).date().isoformat(),
                reader=self.pseudonyms.of(reader_id),
                alias=self.pseudonyms.of(alias_reader_id) if alias_reader_id else "",
                article_id=article_id[:200],
                section=section[:100],
                referrer=classify_referrer(referer, self._own_hosts).value,
                experiment=assigned.experiment if assigned else "",
                variant=assigned.variant if assigned else "",
            )
        )

    def record_decision(
        self,
        decision: Decision,
        article: ArticleAccess,
        *,
        reader_id: str,
        at: datetime,
        referer: str | None,
    ) -> None:
        """Record an article request: a page view and the notice or wall it showed."""
        for kind in decision_events(decision):
            self.record(
                kind,
                reader_id=reader_id,
                at=at,
                article_id=article.id,
                section=article.section,
                referer=referer,
            )

    async def forget(self, reader_ids: Collection[str]) -> int:
        """Delete every event of these readers, written or still buffered."""
        await self.writer.flush()
        return await self.store.forget({self.pseudonyms.of(r) for r in reader_ids})

    async def anonymise(
        self, reader_ids: Collection[str], at: datetime, closing: Collection[EventKind] = ()
    ) -> int:
        """Keep these readers' events only as anonymous counts (see
        :meth:`SqlEventStore.anonymise`), all under one fresh random pseudonym, so one
        person still counts once.  ``closing`` events (a ``cancelled`` when an account
        with a live subscription is erased) are added under it, dated ``at``'s day.
        Returns how many stored events were rewritten.
        """
        await self.writer.flush()
        replacement = secrets.token_hex(PSEUDONYM_LENGTH // 2)
        rewritten = await self.store.anonymise(
            {self.pseudonyms.of(r) for r in reader_ids}, replacement
        )
        day = at.astimezone(self._zone).date()
        await self.store.write(
            [
                Event(
                    kind=kind,
                    at=datetime.combine(day, datetime.min.time(), UTC),
                    day=day.isoformat(),
                    reader=replacement,
                )
                for kind in closing
            ]
        )
        return rewritten

    async def of_readers(self, reader_ids: Collection[str], limit: int = 1_000) -> list[Event]:
        """The newest stored events of these readers and of the pseudonyms linked to them
        (the anonymous browser an account signed up from), for their own data page."""
        await self.writer.flush()
        names = {self.pseudonyms.of(r) for r in reader_ids}
        found = await self.store.of_readers(names, limit)
        linked = {e.alias for e in found if e.alias and e.reader in names}
        linked |= {e.reader for e in found if e.alias in names}
        if linked - names:
            found = await self.store.of_readers(names | linked, limit)
        return found

    async def purge(self, now: datetime | None = None) -> int:
        """Delete events older than the retention period (counted back from ``now``)."""
        before = (now or self._clock()) - timedelta(days=self.retention_days)
        removed = await self.store.purge(before)
        if removed:
            log.info("purged %d events older than %s", removed, before.date())
        return removed

    async def _purge_daily(self) -> None:
        while True:
            try:
                await self.purge()
            except Exception as exc:
                # A failed purge is retried tomorrow; it must not stop the site.
                log.warning("event purge failed: %s", exc)
            await asyncio.sleep(PURGE_EVERY.total_seconds())

    def start(self) -> None:
        """Start the writer and the daily purge (the first one now); call in the app's lifespan."""
        self.writer.start()
        if self._purger is None or self._purger.done():
            self._purger = asyncio.get_running_loop().create_task(
                self._purge_daily(), name="event-purge"
            )

    async def stop(self) -> None:
        """Stop the purge and write every buffered event."""
        if self._purger is not None:
            self._purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purger
            self._purger = None
        await self.writer.stop()
