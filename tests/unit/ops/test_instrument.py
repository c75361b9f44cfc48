"""The meter store and access service wrappers: every decision and failure is counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterwall.access.model import (
    AccessLevel,
    ArticleAccess,
    MeterState,
    MeterWindow,
    Policy,
    ReaderState,
)
from meterwall.metering.ports import CountedRead, MeterUnavailable
from meterwall.ops.context import request_context
from meterwall.ops.instrument import InstrumentedMeterStore, ObservedAccessService
from meterwall.ops.metrics import Metrics

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)


@dataclass
class FakeStore:
    """An in-memory meter whose availability a test switches."""

    down: bool = False
    reads: dict[str, set[str]] = field(default_factory=dict)
    maintenance_calls: int = 0

    def _check(self) -> None:
        if self.down:
            raise MeterUnavailable("connection refused")

    async def check_and_record(
        self, reader_id: str, window: MeterWindow, article_id: str, limit: int, now: datetime
    ) -> MeterState:
        self._check()
        mine = self.reads.setdefault(reader_id, set())
        if article_id in mine:
            return MeterState(len(mine), True)
        if len(mine) >= limit:
            return MeterState(len(mine), False)
        mine.add(article_id)
        return MeterState(len(mine), True)

    async def counted(self, reader_id: str, window: MeterWindow) -> list[CountedRead]:
        self._check()
        return [CountedRead(a, NOW) for a in sorted(self.reads.get(reader_id, ()))]

    async def merge(self, source: str, target: str, window: MeterWindow, now: datetime) -> int:
        self._check()
        return 0

    async def forget(self, reader_id: str, keep_count_in: MeterWindow | None = None) -> None:
        self._check()
        self.reads.pop(reader_id, None)

    async def ping(self) -> None:
        self._check()

    async def close(self) -> None:
        return None

    def purge(self) -> int:
        self.maintenance_calls += 1
        return 7


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def service(store: FakeStore, failure: str = "closed", limit: int = 3):  # type: ignore[no-untyped-def]
    metrics = Metrics()
    wrapped = InstrumentedMeterStore(store, metrics)
    policy = Policy(anonymous_limit=limit, registered_limit=limit)
    return ObservedAccessService(wrapped, policy, failure, metrics=metrics), metrics  # type: ignore[arg-type]


async def test_store_calls_are_timed_by_operation() -> None:
    metrics = Metrics()
    store = InstrumentedMeterStore(FakeStore(), metrics)
    window = MeterWindow("2026-11", NOW, NOW)
    await store.check_and_record("r", window, "a", 5, NOW)
    await store.counted("r", window)
    await store.ping()
    for op in ("check_and_record", "counted", "ping"):
        assert value(metrics, "meterwall_meter_store_seconds_count", operation=op) == 1
    assert value(metrics, "meterwall_meter_store_errors_total", operation="ping") == 0


async def test_a_failing_call_is_counted_as_an_error_and_still_raises() -> None:
    metrics = Metrics()
    store = InstrumentedMeterStore(FakeStore(down=True), metrics)
    with pytest.raises(MeterUnavailable):
        await store.ping()
    assert value(metrics, "meterwall_meter_store_errors_total", operation="ping") == 1
    assert value(metrics, "meterwall_meter_store_seconds_count", operation="ping") == 1


async def test_an_adapters_own_methods_pass_through() -> None:
    fake = FakeStore()
    store = InstrumentedMeterStore(fake, Metrics())
    assert store.purge() == 7
    assert fake.maintenance_calls == 1


@pytest.mark.parametrize("failure", ["open", "closed"])
async def test_a_store_outage_is_answered_by_the_policy_and_counted(failure: str) -> None:
    access, metrics = service(FakeStore(down=True), failure)
    with request_context("r1") as context:
        decision = await access.decide(ArticleAccess("a"), ReaderState("reader"), NOW)
    assert decision.outcome == ("granted" if failure == "open" else "paywall")
    assert context.outcome == decision.outcome
    assert value(metrics, "meterwall_meter_fallbacks_total", policy=failure) == 1
    assert value(metrics, "meterwall_meter_store_errors_total", operation="check_and_record") == 1


calls = st.lists(
    st.tuples(
        st.sampled_from(["r1", "r2"]),
        st.sampled_from(["a", "b", "c", "d", "e"]),
        st.sampled_from(list(AccessLevel)),
        st.booleans(),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(calls)
async def test_decision_counts_add_up_to_what_readers_were_shown(
    requests: list[tuple[str, str, AccessLevel, bool]],
) -> None:
    store = FakeStore()
    access, metrics = service(store, "closed", limit=3)
    shown: dict[str, int] = {}
    outages = 0
    for reader, article, level, down in requests:
        store.down = down
        decision = await access.decide(ArticleAccess(article, level), ReaderState(reader), NOW)
        shown[decision.outcome] = shown.get(decision.outcome, 0) + 1
        outages += down and level is AccessLevel.METERED
    for outcome in ("granted", "metered", "regwall", "paywall", "crawler"):
        counted = value(metrics, "meterwall_decisions_total", outcome=outcome)
        assert counted == shown.get(outcome, 0)
    assert value(metrics, "meterwall_meter_fallbacks_total", policy="closed") == outages
