"""Housekeeping: deleting SQL meter rows whose period has ended, and what else expires.

Expired rows never count against a reader, so purging them is only about
space (and the speed of each reader's meter query).  The SQL meter store
needs it; Redis expires meter keys by itself.  The same round also deletes
limit counters whose window has ended, sign-in links older than a day and
Stripe webhook payloads older than ``stripe.webhook_retention_days``
(whatever the meter store).  The app
purges once when it starts and then every ``meter_purge_interval_seconds``;
``meterwall meter purge`` does the same once, for operators who prefer cron.
With several workers or app servers each one purges: deleting rows that are
already gone costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.billing.webhooks import WebhookRetention
from meterwall.identity.loginlinks import LoginLinks
from meterwall.metering.sql import SqlMeterStore
from meterwall.settings import Settings
from meterwall.storage.counters import Counters

log = logging.getLogger(__name__)


class Purgeable(Protocol):
    """A meter store that keeps expired rows until told to delete them."""

    async def purge_expired(self, now: datetime) -> int:
        """Delete rows whose period ended before ``now``; how many went."""
        ...


class Purgeables:
    """Several stores purged one after the other, as one."""

    def __init__(self, stores: Sequence[Purgeable]) -> None:
        self.stores = list(stores)

    async def purge_expired(self, now: datetime) -> int:
        """Purge each store; the rows deleted in all."""
        total = 0
        for store in self.stores:
            total += await store.purge_expired(now)
        return total


def purgeables(settings: Settings, engine: AsyncEngine) -> Purgeables:
    """Everything the settings leave to housekeeping in the database at ``engine``."""
    stores: list[Purgeable] = [
        Counters(engine),
        WebhookRetention(engine, timedelta(days=settings.stripe.webhook_retention_days)),
        LoginLinks(engine, settings.accounts, settings.public_url),
    ]
    if settings.meter_store == "sql":
        stores.insert(0, SqlMeterStore(engine))
    return Purgeables(stores)


class MeterPurger:
    """Purges expired meter rows now and then, on a background task of the app's event loop."""

    def __init__(
        self, store: Purgeable, interval_seconds: float, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._interval = interval_seconds
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def purge(self) -> int | None:
        """Purge once; the number of rows deleted, or ``None`` if the database failed."""
        try:
            removed = await self._store.purge_expired(self._clock())
        except Exception as exc:
            # The next round retries; a failed purge must never stop the site.
            log.warning("housekeeping purge failed: %s", exc)
            return None
        if removed:
            log.info("purged %d expired row(s)", removed)
        return removed

    async def _run(self) -> None:
        while True:
            await self.purge()
            await asyncio.sleep(self._interval)

    @property
    def running(self) -> bool:
        """Whether the background task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Purge now, then every interval, until :meth:`stop` (call in the app's lifespan)."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="meter-purge")

    async def stop(self) -> None:
        """Stop the background task, abandoning a purge in progress (its batch rolls back)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def build_meter_purger(
    settings: Settings, engine: AsyncEngine, clock: Callable[[], datetime]
) -> MeterPurger | None:
    """The periodic purge the settings ask for: none with an interval of 0."""
    if settings.meter_purge_interval_seconds <= 0:
        return None
    return MeterPurger(purgeables(settings, engine), settings.meter_purge_interval_seconds, clock)
