"""The dashboard's demo: a staff account that survives restarts and a funnel that is not empty."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from meterwall.admin.demo import DEMO_STAFF, PASSWORD_FILE, demo_history, prepare_dashboard
from meterwall.admin.staff import StaffDirectory
from meterwall.analytics.events import EventKind, Pseudonyms
from meterwall.analytics.funnel import build_funnel
from meterwall.analytics.periods import Grain
from meterwall.content.demo import seed_demo
from meterwall.settings import Settings
from meterwall.storage.engine import create_engine

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)


def test_the_made_up_history_fills_every_stage() -> None:
    articles = [(f"story-{n}", "news") for n in range(10)]
    history = demo_history(Pseudonyms("k"), articles, NOW, "UTC")
    assert history == demo_history(Pseudonyms("k"), articles, NOW, "UTC")
    assert all(e.at < NOW for e in history)
    funnel = build_funnel(
        [(e.day, e.kind.value, e.reader) for e in history],
        date(2026, 10, 1),
        NOW.date(),
        Grain.DAY,
    )
    totals = funnel.totals
    assert totals["visitors"] > totals["wall"] > totals["registered"] > 0
    assert totals["subscribed"] > 0
    assert all(e.alias for e in history if e.kind is EventKind.REGISTRATION)


async def test_prepare_dashboard_twice(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="k", demo=True)
    await seed_demo(settings)
    first = await prepare_dashboard(settings)
    password = (tmp_path / PASSWORD_FILE).read_text().strip()
    assert any(password in line and DEMO_STAFF in line for line in first)
    assert any(line.startswith("Seeded ") for line in first)
    again = await prepare_dashboard(settings)
    assert not any(line.startswith("Seeded ") for line in again)
    assert (tmp_path / PASSWORD_FILE).read_text().strip() == password
    assert (tmp_path / "sample_access.log.gz").exists()
    engine = create_engine(settings.resolved_database_url)
    try:
        user = await StaffDirectory(engine).authenticate(DEMO_STAFF, password, "127.0.0.1", NOW)
        assert user.email == DEMO_STAFF
    finally:
        await engine.dispose()
