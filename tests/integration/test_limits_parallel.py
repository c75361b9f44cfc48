"""Counted limits hold under parallel requests, on SQLite and PostgreSQL (ATTACKS.md row 32).

Each test fires a burst of concurrent attempts at one limit and counts the
work that actually happened (password checks, mails queued, coupon look-ups):
never more than the limit, however the requests interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.admin import staff as staff_module
from meterwall.admin.staff import StaffDirectory, TooManyAttempts
from meterwall.identity.loginlinks import LoginLinks, TooManyLinks
from meterwall.settings import AccountSettings
from meterwall.storage.counters import Budget, Counters
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade
from meterwall.storage.schema import login_tokens
from tests.backends import empty_database

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
PASSWORD = "a long staff password"


@pytest.fixture(params=["sqlite", "postgres"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'limits.db'}"
        upgrade(url)
    else:
        url = request.getfixturevalue("postgres_url")
        empty_database(url)
    built = create_engine(url)
    yield built
    await built.dispose()


async def test_parallel_takes_never_exceed_the_budget(engine: AsyncEngine) -> None:
    counters = Counters(engine)
    budget = Budget("test", 7, timedelta(hours=1))
    taken = await asyncio.gather(*(counters.take([(budget, "x")], NOW) for _ in range(100)))
    assert sum(taken) == 7


async def test_budgets_are_taken_all_or_none(engine: AsyncEngine) -> None:
    counters = Counters(engine)
    narrow = Budget("narrow", 1, timedelta(hours=1))
    wide = Budget("wide", 5, timedelta(hours=1))
    assert await counters.take([(wide, "w"), (narrow, "n")], NOW)
    assert not await counters.take([(wide, "w"), (narrow, "n")], NOW)
    taken = await asyncio.gather(*(counters.take([(wide, "w")], NOW) for _ in range(20)))
    assert sum(taken) == 4, "the refused claim must not have spent the wide budget"


async def test_a_window_ends(engine: AsyncEngine) -> None:
    counters = Counters(engine)
    budget = Budget("test", 1, timedelta(minutes=15))
    assert await counters.take([(budget, "x")], NOW)
    assert not await counters.take([(budget, "x")], NOW)
    assert await counters.take([(budget, "x")], NOW + timedelta(minutes=15))
    assert await counters.purge_expired(NOW + timedelta(minutes=16)) == 1


async def test_200_parallel_staff_guesses_check_at_most_the_limit(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = StaffDirectory(engine, failures_allowed=10)
    await directory.create("editor@example.com", PASSWORD, NOW)
    checks = 0
    real = staff_module.verify_password

    def counting(password: str, stored: str) -> bool:
        nonlocal checks
        checks += 1
        return real(password, stored)

    monkeypatch.setattr(staff_module, "verify_password", counting)

    async def guess(n: int) -> str:
        try:
            await directory.authenticate("editor@example.com", f"guess {n}", f"10.0.{n}.1", NOW)
        except TooManyAttempts:
            return "blocked"
        except PermissionError:
            return "wrong"
        return "in"

    outcomes = await asyncio.gather(*(guess(n) for n in range(200)))
    assert checks <= 10
    assert outcomes.count("wrong") == 10
    assert outcomes.count("blocked") == 190
    with pytest.raises(TooManyAttempts):
        await directory.authenticate("editor@example.com", PASSWORD, "10.9.9.9", NOW)


async def test_200_parallel_guesses_from_one_network_check_at_most_the_limit(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = StaffDirectory(engine, failures_allowed=10)
    checks = 0
    real = staff_module.verify_password

    def counting(password: str, stored: str) -> bool:
        nonlocal checks
        checks += 1
        return real(password, stored)

    monkeypatch.setattr(staff_module, "verify_password", counting)

    async def guess(n: int) -> None:
        # Every address of one IPv6 /64 is one network.
        address = f"2001:db8:1:2::{n:x}"
        with contextlib.suppress(TooManyAttempts, PermissionError):
            await directory.authenticate(f"user{n}@example.com", "guess", address, NOW)

    await asyncio.gather(*(guess(n) for n in range(200)))
    assert checks <= 10


async def test_a_successful_sign_in_gives_its_attempt_back(engine: AsyncEngine) -> None:
    directory = StaffDirectory(engine, failures_allowed=2)
    await directory.create("editor@example.com", PASSWORD, NOW)
    for _ in range(5):
        await directory.authenticate("editor@example.com", PASSWORD, "10.0.0.1", NOW)
    with pytest.raises(PermissionError):
        await directory.authenticate("editor@example.com", "wrong", "10.0.0.1", NOW)
    await directory.authenticate("editor@example.com", PASSWORD, "10.0.0.1", NOW)


def _links(engine: AsyncEngine, **limits: int) -> LoginLinks:
    return LoginLinks(engine, AccountSettings(**limits), "https://news.example")


async def _issue(links: LoginLinks, email: str, ip: str, now: datetime = NOW) -> bool:
    try:
        await links.issue(email, ip, "/account", now)
    except TooManyLinks:
        return False
    return True


async def test_100_parallel_login_mails_to_one_inbox_send_the_hourly_limit(
    engine: AsyncEngine,
) -> None:
    links = _links(engine, login_links_per_email_per_hour=5, login_links_per_ip_per_hour=1_000)
    # Plus-tags and three client addresses, as in the reported burst: still one inbox.
    sent = await asyncio.gather(
        *(_issue(links, f"reader+{n}@example.com", f"10.0.0.{n % 3}") for n in range(100))
    )
    assert sum(sent) == 5
    async with engine.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(login_tokens))).scalar()
    assert stored == 5


async def test_gmail_dots_and_domains_are_one_inbox(engine: AsyncEngine) -> None:
    links = _links(engine, login_links_per_email_per_hour=3, login_links_per_ip_per_hour=1_000)
    spellings = ["j.doe@gmail.com", "jdoe@googlemail.com", "j.d.o.e+x@gmail.com", "jdoe@gmail.com"]
    sent = [await _issue(links, email, "10.0.0.1") for email in spellings]
    assert sent == [True, True, True, False]
    assert await _issue(links, "j.doe@example.com", "10.0.0.1"), "dots count elsewhere"


async def test_the_daily_cap_holds_across_hours(engine: AsyncEngine) -> None:
    links = _links(
        engine,
        login_links_per_email_per_hour=5,
        login_links_per_inbox_per_day=8,
        login_links_per_ip_per_hour=1_000,
    )
    start = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
    sent = 0
    for hour in range(6):
        at = start + timedelta(hours=hour)
        results = await asyncio.gather(
            *(_issue(links, f"reader+{n}@example.com", "10.0.0.1", at) for n in range(20))
        )
        sent += sum(results)
    assert sent == 8


async def test_100_parallel_login_mails_from_one_network_send_the_network_limit(
    engine: AsyncEngine,
) -> None:
    links = _links(engine, login_links_per_ip_per_hour=20)
    sent = await asyncio.gather(
        *(_issue(links, f"reader{n}@example.com", f"2001:db8::{n:x}") for n in range(100))
    )
    assert sum(sent) == 20
