"""The dashboard's part of ``meterwall demo``: a staff account, some history, a sample log.

The demo staff account is ``staff@example.com`` with a password generated on
first run and kept in ``data_dir/staff-password.txt``.  A month of made-up
reading history is seeded once, so the funnel is not empty before anyone has
read anything; events from real visits join it as they happen.
"""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import anyio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.admin.simulator_pages import sample_path
from meterwall.admin.staff import StaffDirectory, StaffExists
from meterwall.analytics.events import Event, EventKind, Pseudonyms
from meterwall.analytics.sql import SqlEventStore
from meterwall.content.store import ArticleStore
from meterwall.settings import Settings
from meterwall.storage.engine import create_engine
from meterwall.storage.schema import events

DEMO_STAFF = "staff@example.com"
PASSWORD_FILE = "staff-password.txt"  # noqa: S105 - the name of a file
SEED = 6
HISTORY_DAYS = 30
DEMO_READERS = 900


def _demo_password(data_dir: Path) -> tuple[str, bool]:
    """The demo staff password from its file, or a new one written there (and whether new)."""
    path = data_dir / PASSWORD_FILE
    password = path.read_text().strip() if path.exists() else ""
    if password:
        return password, False
    password = secrets.token_urlsafe(12)
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password, True


async def demo_staff(directory: StaffDirectory, data_dir: Path, now: datetime) -> str:
    """Make sure the demo staff account exists; returns its password."""
    password, new = await anyio.to_thread.run_sync(_demo_password, data_dir)
    try:
        await directory.create(DEMO_STAFF, password, now)
    except StaffExists:
        if new:
            await directory.set_password(DEMO_STAFF, password)
    return password


def demo_history(
    pseudonyms: Pseudonyms,
    articles: list[tuple[str, str]],
    now: datetime,
    timezone: str,
    limit: int = 5,
) -> list[Event]:
    """A month of made-up funnel events over ``(article id, section)`` pairs."""
    rng = random.Random(SEED)
    zone = ZoneInfo(timezone)
    referrers = ["search", "social", "direct", "internal", "other"]
    out: list[Event] = []

    def event(kind: EventKind, reader: str, at: datetime, **extra: str) -> None:
        out.append(
            Event(kind, at, at.astimezone(zone).date().isoformat(), pseudonyms.of(reader), **extra)
        )

    for n in range(DEMO_READERS):
        reader = f"demo-reader-{n}"
        first = now - timedelta(days=rng.uniform(1, HISTORY_DAYS))
        reads = min(len(articles), int(rng.paretovariate(1.2)))
        referrer = rng.choices(referrers, [35, 15, 30, 15, 5])[0]
        at = first
        counted: set[str] = set()
        walls: list[tuple[str, str]] = []
        for _ in range(reads):
            at += timedelta(minutes=rng.uniform(5, 60 * 24 * 2))
            if at >= now:
                break
            article, section = rng.choice(articles)
            extra = {"article_id": article, "section": section, "referrer": referrer}
            event(EventKind.PAGE_VIEW, reader, at, **extra)
            if article in counted or len(counted) < limit:
                counted.add(article)
                event(EventKind.METER_NOTICE, reader, at, **extra)
            else:
                event(EventKind.PAYWALL_IMPRESSION, reader, at, **extra)
                walls.append((article, section))
            referrer = "internal"
        if not walls or rng.random() > 0.35:
            continue
        account = f"acct:demo-{n}"
        at += timedelta(minutes=rng.uniform(1, 30))
        event(EventKind.REGISTRATION, account, at, alias=pseudonyms.of(reader))
        if rng.random() < 0.6:
            at += timedelta(minutes=rng.uniform(1, 10))
            event(EventKind.CHECKOUT_STARTED, account, at, article_id=walls[-1][0])
            if rng.random() < 0.75:
                at += timedelta(minutes=rng.uniform(1, 5))
                event(EventKind.SUBSCRIBED, account, at, article_id=walls[-1][0])
    return [e for e in out if e.at < now]


async def _seed_history(engine: AsyncEngine, settings: Settings, secret: str, now: datetime) -> int:
    async with engine.connect() as conn:
        if (await conn.execute(select(func.count()).select_from(events))).scalar_one():
            return 0
    latest = await ArticleStore(engine).latest(limit=100)
    articles = [(a.id, a.section) for a in latest if a.access.value == "metered"]
    if not articles:
        return 0
    history = demo_history(
        Pseudonyms(secret),
        articles,
        now,
        settings.policy.timezone,
        settings.policy.anonymous_limit,
    )
    store = SqlEventStore(engine)
    for i in range(0, len(history), 1_000):
        await store.write(history[i : i + 1_000])
    return len(history)


async def prepare_dashboard(settings: Settings) -> list[str]:
    """Set up the dashboard's demo (database already migrated); returns lines to print."""
    from meterwall.app import secret_keys

    now = datetime.now(UTC)
    engine = create_engine(settings.resolved_database_url)
    try:
        password = await demo_staff(StaffDirectory(engine), settings.data_dir, now)
        seeded = await _seed_history(engine, settings, secret_keys(settings)[0], now)
    finally:
        await engine.dispose()
    log = sample_path(settings.data_dir)
    lines = [
        f"Dashboard: {settings.public_url}/admin  (sign in as {DEMO_STAFF}, password {password};"
        f" kept in {settings.data_dir / PASSWORD_FILE})",
        f"Meter simulator: meterwall simulate {log} --limits 3,5,10 --chart simulation.svg",
    ]
    if seeded:
        lines.insert(1, f"Seeded {seeded:,} made-up events over {HISTORY_DAYS} days for the funnel")
    return lines
