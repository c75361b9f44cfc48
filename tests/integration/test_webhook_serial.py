"""A webhook waiting on Stripe holds no database lock, and webhooks still go one at a time."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.access.model import MeterState, Policy
from meterwall.access.policy import meter_window
from meterwall.billing.serial import webhook_lock
from meterwall.billing.store import BillingStore
from meterwall.billing.webhooks import Webhooks, signature_header
from meterwall.metering.sql import SqlMeterStore
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
SECRET = "whsec_test"


class SlowStripe:
    """Answers a subscription read only when told to, and records the order of reads."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.reading = asyncio.Event()
        self.reads: list[str] = []

    async def subscription(self, subscription_id: str) -> None:
        self.reads.append(subscription_id)
        self.reading.set()
        await self.release.wait()
        return None  # unknown to Stripe: processed with a note, nothing stored


@pytest.fixture
async def engine(tmp_path: Path) -> Any:
    url = f"sqlite+aiosqlite:///{tmp_path / 'site.db'}"
    upgrade(url)
    made = create_engine(url)
    yield made
    await made.dispose()


def delivery(event_id: str) -> tuple[bytes, str]:
    body = json.dumps(
        {"id": event_id, "type": "customer.subscription.updated", "data": {"object": {"id": "s"}}}
    ).encode()
    return body, signature_header(body, SECRET, int(NOW.timestamp()))


async def test_a_first_read_is_counted_while_a_webhook_waits_on_stripe(
    engine: AsyncEngine,
) -> None:
    stripe = SlowStripe()
    hooks = Webhooks(engine, BillingStore(engine), stripe, [SECRET])  # type: ignore[arg-type]
    meter = SqlMeterStore(engine, timeout=0.5)
    window = meter_window(Policy(), NOW)
    pending = asyncio.create_task(hooks.receive(*delivery("evt_1"), NOW))
    await asyncio.wait_for(stripe.reading.wait(), 5)
    assert await meter.check_and_record("reader", window, "story", 5, NOW) == MeterState(1, True)
    stripe.release.set()
    outcome = await asyncio.wait_for(pending, 5)
    assert (outcome.status, outcome.message) == (200, "subscription s is unknown to Stripe")


async def test_webhooks_still_go_one_at_a_time(engine: AsyncEngine) -> None:
    stripe = SlowStripe()
    hooks = Webhooks(engine, BillingStore(engine), stripe, [SECRET])  # type: ignore[arg-type]
    first = asyncio.create_task(hooks.receive(*delivery("evt_a"), NOW))
    await asyncio.wait_for(stripe.reading.wait(), 5)
    second = asyncio.create_task(hooks.receive(*delivery("evt_b"), NOW))
    await asyncio.sleep(0.3)
    assert len(stripe.reads) == 1  # the second waits for the first, not for Stripe
    stripe.release.set()
    answers = await asyncio.wait_for(asyncio.gather(first, second), 5)
    assert [a.status for a in answers] == [200, 200]
    assert len(stripe.reads) == 2


async def test_the_file_lock_holds_across_processes(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'site.db'}")
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import fcntl, os, sys, time\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('held', flush=True)\n"
        "time.sleep(2)\n",
        f"{tmp_path / 'site.db'}.webhooks.lock",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert (await holder.stdout.readline()).strip() == b"held"
        started = time.monotonic()
        async with webhook_lock(engine)():
            waited = time.monotonic() - started
        assert waited > 0.5
    finally:
        await asyncio.wait_for(holder.wait(), 10)
        await engine.dispose()


async def test_the_postgres_lock_serialises_and_holds_no_transaction(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    lock = webhook_lock(engine)
    release, entered = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with lock():
            entered.set()
            await release.wait()

    holder = asyncio.create_task(first())
    await asyncio.wait_for(entered.wait(), 10)

    async def later() -> None:
        async with lock():
            pass

    second = asyncio.create_task(later())
    await asyncio.sleep(0.3)
    assert not second.done()
    async with engine.connect() as conn:
        idle = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
            )
        )
    assert idle == 0  # the lock is held by a session, not by an open transaction
    release.set()
    await asyncio.wait_for(holder, 10)
    await asyncio.wait_for(second, 10)
    await engine.dispose()
