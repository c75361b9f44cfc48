"""Meter housekeeping: expired SQL meter rows go (at start, every interval, by CLI) and no
reader's meter changes; "Delete my meter data" also deletes a signed-in reader's account meter."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from meterwall.access.model import CalendarMonth, Policy
from meterwall.access.policy import meter_window
from meterwall.cli import main
from meterwall.identity.accounts import meter_key
from meterwall.metering.housekeeping import MeterPurger, build_meter_purger, purgeables
from meterwall.metering.sql import SqlMeterStore
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade
from meterwall.storage.schema import login_tokens, meter_reads
from tests.accounts_support import csrf_of, new_client, sign_in
from tests.admin_support import running
from tests.backends import create_postgres_database, drop_postgres_database, unavailable
from tests.conftest import NOW
from tests.factories import make_settings
from tests.integration.test_site import banner

POLLS = 250


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[str]:
    """A throwaway PostgreSQL database of this module's own: purges here delete every
    expired row, so they must not share a database with other tests."""
    url = create_postgres_database()
    if url is None:
        unavailable("PostgreSQL is not reachable at 127.0.0.1:5432")
    assert url is not None
    yield url
    drop_postgres_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty, migrated meter table of the parametrised database."""
    if request.param == "postgres":
        url = request.getfixturevalue("own_postgres")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'meter.db'}"
        upgrade(url)
    built = create_engine(url, timeout=20)
    async with built.begin() as conn:
        await conn.execute(delete(meter_reads))
    yield built
    await built.dispose()


async def add_rows(engine: AsyncEngine, *rows: tuple[str, str, datetime]) -> None:
    """Meter rows (reader, article, expires_at) straight into the table."""
    async with engine.begin() as conn:
        for reader_id, article_id, expires_at in rows:
            await conn.execute(
                meter_reads.insert().values(
                    reader_id=reader_id,
                    window_key="old",
                    article_id=article_id,
                    counted_at=expires_at - timedelta(days=30),
                    expires_at=expires_at,
                )
            )


async def stored(engine: AsyncEngine) -> set[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(meter_reads.c.reader_id, meter_reads.c.article_id))
        return {(r.reader_id, r.article_id) for r in rows}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    offsets=st.lists(st.integers(-400 * 86_400, 400 * 86_400) | st.just(0), max_size=25),
    batch=st.integers(1, 7),
)
async def test_purge_deletes_exactly_the_rows_whose_period_ended(
    engine: AsyncEngine, offsets: list[int], batch: int
) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(meter_reads))
    rows = [(f"r{i}", "story", NOW + timedelta(seconds=s)) for i, s in enumerate(offsets)]
    await add_rows(engine, *rows)
    removed = await SqlMeterStore(engine).purge_expired(NOW, batch=batch)
    assert removed == sum(1 for s in offsets if s < 0)
    assert await stored(engine) == {(r, a) for r, a, expires in rows if expires >= NOW}


async def test_a_reader_at_the_limit_stays_there_after_a_purge(engine: AsyncEngine) -> None:
    store = SqlMeterStore(engine, timeout=20)
    window = meter_window(Policy(period=CalendarMonth()), NOW)
    for n in range(1, 4):
        assert (await store.check_and_record("reader", window, f"story-{n}", 3, NOW)).counted
    await add_rows(engine, *((("reader", f"old-{n}", window.since)) for n in range(5)))
    assert await store.purge_expired(NOW) == 5
    state = await store.check_and_record("reader", window, "story-4", 3, NOW)
    assert (state.used, state.counted) == (3, False)
    again = await store.check_and_record("reader", window, "story-2", 3, NOW)
    assert again.counted


async def expired_left(app: Starlette) -> int:
    async with app.state.services.engine.connect() as conn:
        query = select(func.count()).where(meter_reads.c.expires_at < NOW)
        return int((await conn.execute(query)).scalar_one())


async def wait_for_no_expired(app: Starlette) -> None:
    for _ in range(POLLS):
        if not await expired_left(app):
            return
        await asyncio.sleep(0.02)
    assert await expired_left(app) == 0


async def test_the_app_purges_at_start_and_every_interval_and_stops_at_shutdown(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(meter_store="sql", meter_purge_interval_seconds=0.05)
    engine = app.state.services.engine
    await add_rows(engine, ("gone-1", "a", NOW - timedelta(days=1)), ("ends-now", "b", NOW))
    await add_rows(engine, ("gone-3", "a", NOW - timedelta(seconds=1)))
    async with running(app) as client:
        assert banner(await client.get("/articles/story-1")) == "1 of 5 stories this month"
        await wait_for_no_expired(app)
        await add_rows(engine, ("gone-4", "c", NOW - timedelta(days=40)))
        await wait_for_no_expired(app)
        assert banner(await client.get("/articles/story-2")) == "2 of 5 stories this month"
        assert app.state.meter_purger.running
    assert not app.state.meter_purger.running
    await add_rows(engine, ("kept", "d", NOW - timedelta(days=2)))
    await asyncio.sleep(0.2)
    assert await expired_left(app) == 1
    reader_id = client.cookies["mw_reader"].split(".")[0]
    assert {r for r, _ in await stored(engine)} == {"ends-now", "kept", reader_id}


def test_no_periodic_purge_when_switched_off_or_on_redis(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    off = make_settings(tmp_path, meter_purge_interval_seconds=0)
    on_redis = make_settings(tmp_path, meter_store="redis", redis_url="redis://127.0.0.1:1/0")
    assert build_meter_purger(off, engine, lambda: NOW) is None
    assert build_meter_purger(on_redis, engine, lambda: NOW) is not None
    # With Redis, the round still purges limit counters and webhook payloads, not the meter.
    assert not any(isinstance(s, SqlMeterStore) for s in purgeables(on_redis, engine).stores)
    hourly = build_meter_purger(make_settings(tmp_path), engine, lambda: NOW)
    assert hourly is not None and not hourly.running


class FlakyStore:
    """Fails its first purge, as a database that is briefly down would."""

    def __init__(self) -> None:
        self.calls = 0

    async def purge_expired(self, now: datetime) -> int:
        self.calls += 1
        if self.calls == 1:
            raise OSError("connection refused")
        return 2


async def test_a_failed_purge_is_logged_and_the_next_round_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FlakyStore()
    purger = MeterPurger(store, 0.01, lambda: NOW)
    with caplog.at_level(logging.INFO, logger="meterwall.metering.housekeeping"):
        purger.start()
        for _ in range(200):
            if store.calls >= 3:
                break
            await asyncio.sleep(0.01)
        await purger.stop()
    assert store.calls >= 3 and not purger.running
    assert "housekeeping purge failed: connection refused" in caplog.text
    assert "purged 2 expired row(s)" in caplog.text


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The ``meterwall`` command's environment: settings for a data dir in ``tmp_path``."""
    monkeypatch.delenv("METERWALL_CONFIG", raising=False)
    for name in ("METERWALL_DATABASE_URL", "METERWALL_METER_STORE", "METERWALL_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("METERWALL_DATA_DIR", str(tmp_path))
    return tmp_path


def test_the_purge_command_deletes_expired_rows_only(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{(cli_env / 'meterwall.db').resolve()}"
    upgrade(url)
    now = datetime.now(UTC)

    async def seed() -> set[tuple[str, str]]:
        engine = create_engine(url)
        await add_rows(
            engine,
            ("old", "a", now - timedelta(days=3)),
            ("old", "b", now - timedelta(minutes=1)),
            ("live", "a", now + timedelta(days=3)),
        )
        await engine.dispose()
        return {("live", "a")}

    kept = asyncio.run(seed())
    assert main(["meter", "purge"]) == 0
    assert "deleted 2 expired row(s)" in capsys.readouterr().out

    async def left() -> set[tuple[str, str]]:
        engine = create_engine(url)
        try:
            return await stored(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(left()) == kept
    assert main(["meter", "purge"]) == 0
    assert "deleted 0 expired row(s)" in capsys.readouterr().out


def test_the_purge_command_on_redis_leaves_the_meter_to_redis(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("METERWALL_METER_STORE", "redis")
    monkeypatch.setenv("METERWALL_REDIS_URL", "redis://127.0.0.1:1/0")
    upgrade(f"sqlite+aiosqlite:///{(cli_env / 'meterwall.db').resolve()}")
    assert main(["meter", "purge"]) == 0
    out = capsys.readouterr().out
    assert "Redis, which expires it by itself" in out
    assert "deleted 0 expired row(s)" in out


def test_the_purge_command_explains_an_unreachable_database(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("METERWALL_DATABASE_URL", "postgresql://meterwall:pw@127.0.0.1:1/none")
    assert main(["meter", "purge"]) == 1
    err = capsys.readouterr().err
    assert "cannot purge the database at postgresql+asyncpg://meterwall:***@127.0.0.1:1" in err
    assert "Traceback" not in err and "pw@" not in err


async def account_reads(app: Starlette, email: str) -> int:
    """How many articles the account's meter holds this month, in whichever store it is."""
    services = app.state.services
    account = await services.members.accounts.by_email(email)
    window = meter_window(Policy(period=CalendarMonth()), NOW)
    return len(await services.access.meter.counted(meter_key(account.id), window))


async def test_deleting_my_reading_data_while_signed_in_forgets_the_accounts_articles(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(mail={"backend": "dev"})
    email = "forgetful@example.com"
    async with new_client(app) as laptop, new_client(app) as phone:
        await laptop.get("/articles/story-1")
        await sign_in(laptop, app, email)
        await laptop.get("/articles/story-2")
        await sign_in(phone, app, email)
        assert banner(await phone.get("/articles/story-3")) == "3 of 5 stories this month"
        page = await laptop.get("/account/meter")
        assert "Headline of story 3" in page.text
        done = await laptop.post("/account/meter/delete", data={"csrf": csrf_of(page.text)})
        assert done.status_code == 303
        # ATTACKS.md row 34: the count stays as a number, so this is not a meter reset.
        assert await account_reads(app, email) == 3
        assert banner(await phone.get("/articles/story-4")) == "4 of 5 stories this month"
        mine = await phone.get("/account/meter")
        assert not re.search(r"Headline of story [123]\b", mine.text)


async def test_housekeeping_forgets_sign_in_links_after_a_day(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    url = settings.resolved_database_url
    upgrade(url)
    engine = create_engine(url)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            for name, made in (("old", now - timedelta(days=2)), ("new", now - timedelta(hours=1))):
                await conn.execute(
                    login_tokens.insert().values(
                        token_hash=name * 8,
                        email=f"{name}@example.com",
                        ip="192.0.2.1",
                        next_path="/",
                        created_at=made,
                        expires_at=made + timedelta(minutes=10),
                    )
                )
        await purgeables(settings, engine).purge_expired(now)
        async with engine.connect() as conn:
            left = (await conn.execute(select(login_tokens.c.email))).scalars().all()
        assert left == ["new@example.com"]
    finally:
        await engine.dispose()
