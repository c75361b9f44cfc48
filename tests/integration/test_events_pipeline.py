"""Events under load: recorded off the hot path, batched, and nothing lost at shutdown."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select
from starlette.applications import Starlette

from meterwall.analytics.events import Event, EventKind
from meterwall.analytics.sql import SqlEventStore
from meterwall.cli import main
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade
from meterwall.storage.schema import events
from tests.admin_support import running
from tests.conftest import NOW

READERS = 16
VISITS = 12  # each reader opens story-1 .. story-8 and then four of them again


async def counts(app: Starlette) -> dict[str, int]:
    async with app.state.services.engine.connect() as conn:
        rows = await conn.execute(select(events.c.kind, func.count()).group_by(events.c.kind))
        return {kind: int(n) for kind, n in rows}


async def read_concurrently(app: Starlette) -> Counter[str]:
    """Readers in parallel; returns what the pages showed, as the events that should record it."""
    shown: Counter[str] = Counter()

    async def reader(n: int) -> None:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            for visit in range(VISITS):
                story = visit % 8 + 1
                response = await client.get(
                    f"/articles/story-{story}",
                    headers={"referer": "https://www.google.com/" if n % 2 else ""},
                )
                assert response.status_code == 200
                shown["page_view"] += 1
                if 'class="meter-banner"' in response.text:
                    shown["meter_notice"] += 1
                elif 'class="gate"' in response.text:
                    shown["paywall_impression"] += 1

    await asyncio.gather(*(reader(n) for n in range(READERS)))
    return shown


def expected() -> dict[str, int]:
    """With a meter that always answers: stories 1-5 count (re-reads are free), 6-8 meet
    the wall; the visits 1..8 then 1..4 make 9 metered views and 3 walls per reader."""
    return {
        "page_view": READERS * VISITS,
        "meter_notice": READERS * 9,
        "paywall_impression": READERS * 3,
    }


async def test_no_event_is_lost_under_concurrent_load(app_factory: Callable[..., Any]) -> None:
    app = await app_factory(
        store_timeout_ms=10_000,
        analytics={"flush_every_events": 7, "flush_interval_ms": 60_000},
    )
    async with running(app):
        shown = await read_concurrently(app)
    # Leaving the lifespan stopped the writer, which wrote the partial last batch.
    assert await counts(app) == dict(shown) == expected()
    assert app.state.services.events.writer.written == sum(expected().values())
    assert app.state.services.events.writer.dropped == 0


async def test_no_event_is_lost_on_postgresql(
    app_factory: Callable[..., Any], postgres_url: str
) -> None:
    engine = create_engine(postgres_url)
    async with engine.begin() as conn:
        await conn.execute(delete(events))
    await engine.dispose()
    app = await app_factory(
        database_url=postgres_url,
        store_timeout_ms=10_000,
        analytics={"flush_every_events": 5, "flush_interval_ms": 20},
    )
    async with running(app):
        shown = await read_concurrently(app)
    assert await counts(app) == dict(shown) == expected()


async def test_the_events_carry_no_reader_id_nor_referrer(app_factory: Callable[..., Any]) -> None:
    app = await app_factory()
    async with running(app) as client:
        await client.get(
            "/articles/story-1", headers={"referer": "https://www.google.com/search?q=secret+terms"}
        )
        await client.get("/articles/story-9")  # free: a page view only
        await app.state.services.events.writer.flush()
        reader_id = client.cookies["mw_reader"].split(".")[0]
        async with app.state.services.engine.connect() as conn:
            rows = (await conn.execute(select(events))).mappings().all()
    assert rows
    for row in rows:
        values = " ".join(str(v) for v in row.values())
        assert reader_id not in values
        assert "secret" not in values and "google" not in values
        assert len(row["reader"]) == 32
    first = [r for r in rows if r["article_id"] == "story-1"]
    assert {r["referrer"] for r in first} == {"search"}
    assert {r["kind"] for r in first} == {"page_view", "meter_notice"}
    assert {r["section"] for r in first} == {"nation"}
    assert first[0]["day"] == NOW.date().isoformat()


async def test_crawlers_record_nothing_and_head_requests_record_nothing(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory()
    async with running(app) as client:
        await client.head("/articles/story-1")
        await client.get("/healthz")
        await client.get("/")
    assert await counts(app) == {}


async def test_purge_deletes_only_events_past_retention(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(analytics={"retention_days": 30})
    recorder = app.state.services.events
    for age in (0, 29, 31, 400):
        recorder.record("page_view", reader_id=f"r{age}", at=NOW - timedelta(days=age))
    await recorder.writer.flush()
    assert await recorder.purge(now=NOW) == 2
    assert await counts(app) == {"page_view": 2}


def test_events_purge_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'meterwall.db'}"
    config = tmp_path / "meterwall.toml"
    config.write_text(f'database_url = "{url}"\nsecret_key = "k"\n')
    # The command sets METERWALL_CONFIG; monkeypatch puts the environment back afterwards.
    monkeypatch.setenv("METERWALL_CONFIG", str(config))
    upgrade(url)
    old = NOW - timedelta(days=500)
    fresh = NOW.replace(year=2100)

    async def write() -> None:
        engine = create_engine(url)
        await SqlEventStore(engine).write(
            [
                Event(EventKind.PAGE_VIEW, old, old.date().isoformat(), "a"),
                Event(EventKind.PAGE_VIEW, fresh, fresh.date().isoformat(), "b"),
            ]
        )
        await engine.dispose()

    asyncio.run(write())
    assert main(["--config", str(config), "events", "purge"]) == 0
    assert "deleted 1 event(s) older than 395 days" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        main(["events", "purge", "--days", "soon"])
    assert exited.value.code == 2
    assert "whole number of days" in capsys.readouterr().err


async def test_a_reader_can_see_export_and_delete_their_events(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory()
    async with running(app) as client:
        for n in range(1, 7):
            await client.get(f"/articles/story-{n}")
        page = await client.get("/account/meter")
        assert "What we store about you" in page.text
        assert "12 event(s)" in page.text
        assert "395 days, then deleted." in page.text
        assert "paywall impression" in page.text
        export = await client.get("/account/meter/export.json")
        assert export.headers["cache-control"] == "private, no-store"
        assert "attachment" in export.headers["content-disposition"]
        data = export.json()
        reader_id = client.cookies["mw_reader"].split(".")[0]
        assert data["reader_cookie"]["reader_id"] == reader_id
        assert len(data["meter"]) == 5
        assert len(data["events"]["items"]) == 12
        assert data["events"]["pseudonyms"] == [app.state.services.events.pseudonyms.of(reader_id)]
        assert {k["what"] for k in data["what_is_kept"]} >= {
            "Reader cookie",
            "Meter",
            "Reading events",
        }
        assert data["account"] is None
        token = page.text.split('name="csrf" value="')[1].split('"')[0]
        before = await counts(app)
        deleted = await client.post("/account/meter/delete", data={"csrf": token})
        assert deleted.status_code == 303
        after = (await client.get("/account/meter/export.json")).json()
        assert after["events"]["items"] == []
    # The publisher's counts stay, with nothing left to say whose or what was read.
    assert await counts(app) == before
    async with app.state.services.engine.connect() as conn:
        left = (await conn.execute(select(events.c.reader, events.c.article_id))).all()
    assert {r.article_id for r in left} == {""}
    assert app.state.services.events.pseudonyms.of(reader_id) not in {r.reader for r in left}


async def test_the_app_purges_old_events_when_it_starts(app_factory: Callable[..., Any]) -> None:
    app = await app_factory(analytics={"retention_days": 30})
    today = datetime.now(UTC)
    store = app.state.services.events.store
    await store.write(
        [
            Event(EventKind.PAGE_VIEW, today - timedelta(days=31), "2000-01-01", "old"),
            Event(EventKind.PAGE_VIEW, today, today.date().isoformat(), "new"),
        ]
    )
    async with running(app):
        for _ in range(100):
            if await counts(app) == {"page_view": 1}:
                break
            await asyncio.sleep(0.02)
    assert await counts(app) == {"page_view": 1}
