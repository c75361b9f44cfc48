"""On SQLite, re-reads and gated reads do not wait for the database's write lock."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from meterwall.access.model import MeterState, Policy
from meterwall.access.policy import meter_window
from meterwall.metering.ports import MeterUnavailable
from meterwall.metering.sql import SqlMeterStore
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
WINDOW = meter_window(Policy(), NOW)


async def test_only_a_read_that_may_count_waits_for_another_writer(tmp_path: Path) -> None:
    path = tmp_path / "meter.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    store = SqlMeterStore(create_engine(f"sqlite+aiosqlite:///{path}"), timeout=5)
    for article in ("a", "b"):
        await store.check_and_record("reader", WINDOW, article, 2, NOW)
    # Another process (a webhook, an import) holds the write lock for a while.
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        async with asyncio.timeout(1):
            assert await store.check_and_record("reader", WINDOW, "a", 2, NOW) == MeterState(
                2, True
            )
            assert await store.check_and_record("reader", WINDOW, "c", 2, NOW) == MeterState(
                2, False
            )
        first = asyncio.create_task(store.check_and_record("someone-else", WINDOW, "a", 2, NOW))
        await asyncio.sleep(0.3)
        assert not first.done()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert await asyncio.wait_for(first, 5) == MeterState(1, True)
    await store._engine.dispose()


async def test_a_read_that_may_count_gives_up_within_the_meter_timeout(tmp_path: Path) -> None:
    """SQLite's own busy wait (30 s) would keep the reader far past the meter's bound."""
    path = tmp_path / "meter.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    store = SqlMeterStore(create_engine(f"sqlite+aiosqlite:///{path}"), timeout=0.3)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(MeterUnavailable):
            await store.check_and_record("reader", WINDOW, "a", 2, NOW)
        assert time.monotonic() - started < 2
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert await store.check_and_record("reader", WINDOW, "a", 2, NOW) == MeterState(1, True)
    await store._engine.dispose()
