"""The batched writer: cheap to record into, writes in batches, loses nothing it can keep."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from meterwall.analytics.events import Event, EventKind
from meterwall.analytics.writer import BatchedEventWriter

AT = datetime(2026, 11, 15, 12, tzinfo=UTC)


def event(n: int) -> Event:
    return Event(EventKind.PAGE_VIEW, AT, "2026-11-15", f"reader-{n}", article_id=f"a{n}")


class Sink:
    """Records each batch; can be told to fail the next few writes."""

    def __init__(self, failures: int = 0) -> None:
        self.batches: list[list[Event]] = []
        self.failures = failures

    async def write(self, events: Sequence[Event]) -> None:
        await asyncio.sleep(0)
        if self.failures:
            self.failures -= 1
            raise OSError("database is down")
        self.batches.append(list(events))

    @property
    def written(self) -> list[Event]:
        return [e for batch in self.batches for e in batch]


async def test_a_full_batch_is_written_without_waiting_for_the_interval() -> None:
    sink = Sink()
    writer = BatchedEventWriter(sink, batch_size=10, interval=60, max_buffered=100)
    writer.start()
    for n in range(25):
        writer.record(event(n))
    for _ in range(100):
        if len(sink.written) >= 20:
            break
        await asyncio.sleep(0.01)
    assert [len(b) for b in sink.batches][:2] == [10, 10]
    await writer.stop()
    assert sink.written == [event(n) for n in range(25)]
    assert writer.pending == 0


async def test_a_partial_batch_is_written_after_the_interval() -> None:
    sink = Sink()
    writer = BatchedEventWriter(sink, batch_size=100, interval=0.02, max_buffered=1_000)
    writer.start()
    writer.record(event(1))
    for _ in range(100):
        if sink.written:
            break
        await asyncio.sleep(0.01)
    assert sink.written == [event(1)]
    await writer.stop()


async def test_stop_writes_everything_left() -> None:
    sink = Sink()
    writer = BatchedEventWriter(sink, batch_size=1_000, interval=60, max_buffered=10_000)
    writer.start()
    for n in range(2_500):
        writer.record(event(n))
    await writer.stop()
    assert sink.written == [event(n) for n in range(2_500)]


async def test_a_failed_batch_is_kept_and_written_on_the_next_try() -> None:
    sink = Sink(failures=2)
    writer = BatchedEventWriter(sink, batch_size=3, interval=60, max_buffered=100)
    for n in range(7):
        writer.record(event(n))
    assert await writer.flush() == 0
    assert await writer.flush() == 0
    assert writer.pending == 7
    assert await writer.flush() == 7
    assert sink.written == [event(n) for n in range(7)]


async def test_past_the_buffer_limit_the_oldest_are_dropped_and_counted() -> None:
    sink = Sink()
    writer = BatchedEventWriter(sink, batch_size=10, interval=60, max_buffered=50)
    for n in range(80):
        writer.record(event(n))
    assert writer.dropped == 30
    await writer.flush()
    assert sink.written == [event(n) for n in range(30, 80)]


def test_nonsense_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        BatchedEventWriter(Sink(), batch_size=0)
    with pytest.raises(ValueError):
        BatchedEventWriter(Sink(), batch_size=10, max_buffered=5)
