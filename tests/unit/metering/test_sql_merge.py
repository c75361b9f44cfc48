"""Merging on SQLite with a rolling window: only live reads move, and no read is granted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from meterwall.access.model import MeterWindow, Policy, RollingDays
from meterwall.access.policy import meter_window
from meterwall.metering.sql import SqlMeterStore
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
WINDOW = meter_window(Policy(), NOW)


def _store(tmp_path: Path, name: str) -> SqlMeterStore:
    url = f"sqlite+aiosqlite:///{tmp_path / name}"
    upgrade(url)
    return SqlMeterStore(create_engine(url), timeout=5)


async def _record(store: SqlMeterStore, reader: str, ids: set[str], window: MeterWindow) -> None:
    for article in sorted(ids):
        await store.check_and_record(reader, window, article, 100, NOW)


async def test_merge_never_grants_a_read_and_moves_only_live_reads(tmp_path: Path) -> None:
    store = _store(tmp_path, "rolling.db")
    old = MeterWindow(key="r30", since=NOW - timedelta(days=60), expires=NOW)
    await store.check_and_record("anon", old, "stale", 5, NOW - timedelta(days=45))
    window = meter_window(Policy(period=RollingDays(30)), NOW)
    await _record(store, "anon", {"a1", "a2"}, window)
    await _record(store, "acct:1", {"a2", "a3"}, window)
    assert await store.merge("anon", "acct:1", window, NOW) == 3
    state = await store.check_and_record("acct:1", window, "a4", 3, NOW)
    assert (state.used, state.counted) == (3, False)
    assert "stale" not in {r.article_id for r in await store.counted("acct:1", window)}
    await store._engine.dispose()
