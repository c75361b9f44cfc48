"""The access service around decide(): the meter is consulted atomically and exactly."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from meterwall.access.model import (
    AccessLevel,
    ArticleAccess,
    Granted,
    Metered,
    MeterWindow,
    Policy,
    ReaderState,
    shows_full_text,
)
from meterwall.access.service import METER_UNAVAILABLE, AccessService
from meterwall.metering.ports import CountedRead, MeterUnavailable
from meterwall.metering.sql import SqlMeterStore
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)


def _store(tmp: Path) -> SqlMeterStore:
    url = f"sqlite+aiosqlite:///{tmp / 'meter.db'}"
    upgrade(url)
    return SqlMeterStore(create_engine(url))


def metered(article_id: str) -> ArticleAccess:
    return ArticleAccess(article_id, AccessLevel.METERED)


@settings(max_examples=25, deadline=None)
@given(
    reads=st.lists(st.sampled_from([f"a{i}" for i in range(12)]), max_size=30),
    limit=st.integers(0, 6),
)
def test_never_more_than_limit_distinct_articles_and_rereads_are_free(
    reads: list[str], limit: int
) -> None:
    async def run() -> None:
        store = _store(Path(tempfile.mkdtemp()))
        service = AccessService(store, Policy(anonymous_limit=limit))
        granted: set[str] = set()
        for article_id in reads:
            decision = await service.decide(metered(article_id), ReaderState("reader"), NOW)
            if shows_full_text(decision):
                assert isinstance(decision, Metered)
                granted.add(article_id)
                assert decision.used == len(granted)
            else:
                # Gated only when the allowance is spent and this article never counted.
                assert len(granted) == limit and article_id not in granted
        assert len(granted) <= limit
        # Everything granted once stays granted on a re-read, without counting again.
        for article_id in granted:
            again = await service.decide(metered(article_id), ReaderState("reader"), NOW)
            assert again == Metered(len(granted), limit)

    asyncio.run(run())


async def test_parallel_requests_at_the_last_free_read_grant_exactly_one(tmp_path: Path) -> None:
    store = _store(tmp_path)
    service = AccessService(store, Policy(anonymous_limit=5))
    reader = ReaderState("racer")
    for i in range(4):
        await service.decide(metered(f"warm{i}"), reader, NOW)
    decisions = await asyncio.gather(
        *(service.decide(metered(f"race{i}"), reader, NOW) for i in range(50))
    )
    assert sum(shows_full_text(d) for d in decisions) == 1


async def test_next_month_brings_a_fresh_allowance(tmp_path: Path) -> None:
    service = AccessService(_store(tmp_path), Policy(anonymous_limit=1))
    reader = ReaderState("r")
    assert shows_full_text(await service.decide(metered("a"), reader, NOW))
    assert not shows_full_text(await service.decide(metered("b"), reader, NOW))
    assert shows_full_text(await service.decide(metered("b"), reader, NOW + timedelta(days=20)))


async def test_report_lists_counted_articles_and_reset(tmp_path: Path) -> None:
    service = AccessService(_store(tmp_path), Policy())
    reader = ReaderState("r")
    await service.decide(metered("a"), reader, NOW)
    await service.decide(metered("b"), reader, NOW + timedelta(minutes=1))
    report = await service.report(reader, NOW)
    assert [r.article_id for r in report.reads] == ["a", "b"]
    assert report.resets_at == datetime(2026, 12, 1, tzinfo=UTC)
    await service.forget("r")
    assert (await service.report(reader, NOW)).reads == []


class _DownStore:
    async def admit(self, network: str, reader_id: str, limit: int, now: datetime) -> bool:
        raise MeterUnavailable("connection refused")

    async def check_and_record(
        self, reader_id: str, window: MeterWindow, article_id: str, limit: int, now: datetime
    ) -> None:
        raise MeterUnavailable("connection refused")

    async def counted(self, reader_id: str, window: MeterWindow) -> list[CountedRead]:
        raise MeterUnavailable("connection refused")


async def test_store_down_fails_closed_by_default_and_open_when_configured() -> None:
    closed = AccessService(_DownStore(), Policy())  # type: ignore[arg-type]
    assert not shows_full_text(await closed.decide(metered("a"), ReaderState("r"), NOW))
    opened = AccessService(_DownStore(), Policy(), meter_failure="open")  # type: ignore[arg-type]
    assert await opened.decide(metered("a"), ReaderState("r"), NOW) == Granted(METER_UNAVAILABLE)


async def test_a_reader_past_the_network_budget_is_gated_and_nothing_is_counted(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    service = AccessService(store, Policy(), new_readers_per_network=1)
    first = ReaderState("first", network="203.0.113.9")
    second = ReaderState("second", network="203.0.113.9")
    assert shows_full_text(await service.decide(metered("a"), first, NOW))
    assert shows_full_text(await service.decide(metered("b"), first, NOW))
    assert not shows_full_text(await service.decide(metered("a"), second, NOW))
    assert (await service.report(second, NOW)).reads == []
    registered = ReaderState("acct:x", registered=True, network="203.0.113.9")
    assert shows_full_text(await service.decide(metered("a"), registered, NOW))
    later = NOW + timedelta(hours=1)
    assert shows_full_text(await service.decide(metered("a"), second, later))


async def test_a_store_down_during_the_budget_check_applies_meter_failure() -> None:
    reader = ReaderState("r", network="203.0.113.9")
    closed = AccessService(_DownStore(), Policy(), new_readers_per_network=5)  # type: ignore[arg-type]
    assert not shows_full_text(await closed.decide(metered("a"), reader, NOW))
    opened = AccessService(
        _DownStore(),  # type: ignore[arg-type]
        Policy(),
        meter_failure="open",
        new_readers_per_network=5,
    )
    assert await opened.decide(metered("a"), reader, NOW) == Granted(METER_UNAVAILABLE)
