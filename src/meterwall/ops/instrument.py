"""Measuring the meter store and the access service without changing either.

:class:`InstrumentedMeterStore` wraps any :class:`MeterStore` adapter and
times each call; :class:`ObservedAccessService` counts decisions by outcome
and the requests that the ``meter_failure`` policy answered because the store
failed.  The composition root puts them in place; the wrapped code never knows.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal, TypeVar

from meterwall.access.model import (
    ArticleAccess,
    Decision,
    MeterState,
    MeterWindow,
    Policy,
    ReaderState,
)
from meterwall.access.service import AccessService
from meterwall.metering.ports import CountedRead, MeterStore
from meterwall.ops.context import RequestContext, current, request_context
from meterwall.ops.metrics import OUTCOMES, Metrics

T = TypeVar("T")


class InstrumentedMeterStore:
    """A :class:`MeterStore` that records each call's latency and failures.

    Anything that is not part of the port (an adapter's own maintenance
    methods) is passed through to the wrapped store untouched.
    """

    def __init__(self, store: MeterStore, metrics: Metrics) -> None:
        self.store = store
        self._metrics = metrics
        self._seconds = {
            op: metrics.meter_seconds.labels(op)
            for op in ("check_and_record", "admit", "counted", "merge", "forget", "ping")
        }

    async def _timed(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        try:
            return await call()
        except BaseException:
            # Cancellation counts too: a timeout imposed by a caller cancels the call.
            self._metrics.meter_errors.labels(operation).inc()
            context = current()
            if context is not None:
                context.meter_failed = True
            raise
        finally:
            self._seconds[operation].observe(time.perf_counter() - started)

    async def check_and_record(
        self, reader_id: str, window: MeterWindow, article_id: str, limit: int, now: datetime
    ) -> MeterState:
        """Count ``article_id`` for the reader if allowed, and report the meter."""
        return await self._timed(
            "check_and_record",
            lambda: self.store.check_and_record(reader_id, window, article_id, limit, now),
        )

    async def admit(self, network: str, reader_id: str, limit: int, now: datetime) -> bool:
        """Admit the reader within the network's hourly budget, if there is room."""
        return await self._timed("admit", lambda: self.store.admit(network, reader_id, limit, now))

    async def counted(self, reader_id: str, window: MeterWindow) -> list[CountedRead]:
        """The reader's counted articles in the window, oldest first."""
        return await self._timed("counted", lambda: self.store.counted(reader_id, window))

    async def merge(
        self, source_reader_id: str, target_reader_id: str, window: MeterWindow, now: datetime
    ) -> int:
        """Fold the source reader's reads in ``window`` into the target's meter."""
        return await self._timed(
            "merge", lambda: self.store.merge(source_reader_id, target_reader_id, window, now)
        )

    async def forget(self, reader_id: str, keep_count_in: MeterWindow | None = None) -> None:
        """Delete everything stored about this reader's meter (keeping a bare count if asked)."""
        await self._timed("forget", lambda: self.store.forget(reader_id, keep_count_in))

    async def ping(self) -> None:
        """Raise :class:`MeterUnavailable` unless the store answers."""
        await self._timed("ping", self.store.ping)

    async def close(self) -> None:
        """Release the wrapped store's connections."""
        await self.store.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


class ObservedAccessService(AccessService):
    """An :class:`AccessService` that counts its decisions and meter-failure fallbacks."""

    def __init__(
        self,
        meter: MeterStore,
        policy: Policy,
        meter_failure: Literal["open", "closed"] = "closed",
        *,
        metrics: Metrics,
        **kwargs: Any,
    ) -> None:
        super().__init__(meter, policy, meter_failure, **kwargs)
        self._metrics = metrics
        self._decisions = {o: metrics.decisions.labels(o) for o in OUTCOMES}
        self._fallback = metrics.meter_fallbacks.labels(meter_failure)

    async def decide(self, article: ArticleAccess, reader: ReaderState, now: datetime) -> Decision:
        """Decide as :class:`AccessService` does, counting the outcome."""
        context = current()
        if context is None:
            with request_context("") as context:
                return await self._observed(context, article, reader, now)
        return await self._observed(context, article, reader, now)

    async def _observed(
        self, context: RequestContext, article: ArticleAccess, reader: ReaderState, now: datetime
    ) -> Decision:
        context.meter_failed = False
        decision = await super().decide(article, reader, now)
        if context.meter_failed:
            self._fallback.inc()
            context.meter_failed = False
        context.outcome = decision.outcome
        self._decisions[decision.outcome].inc()
        return decision
