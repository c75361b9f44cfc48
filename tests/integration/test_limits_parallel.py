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
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.admin import staff as staff_module
from meterwall.admin.staff import StaffDirectory, TooManyAttempts
from meterwall.storage.counters import Budget, Counters
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade
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
    assert await counters.purge(NOW + timedelta(minutes=16)) == 1


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
