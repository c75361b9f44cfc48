"""Counted limits reserved atomically before the work they limit.

A limit ("10 failed sign-ins per address per 15 minutes") is a counter per
subject and fixed window, one row in ``rate_counters``.  Taking one unit is a
single upsert that adds one only while the count is below the limit and
returns the new count (``INSERT ... ON CONFLICT DO UPDATE ... WHERE count <
limit RETURNING count``): no row back means the budget is spent.  PostgreSQL
locks the row for the upsert and re-checks the condition against the newest
committed count, and SQLite runs it under its database write lock (the
transaction begins with ``BEGIN IMMEDIATE``), so parallel requests can never
take more than the limit between them, however they interleave.

Several budgets (per email and per address) are taken all or nothing in one
transaction, in a fixed order so that two requests can never deadlock.
Windows are fixed (aligned to the Unix epoch), so at a window's boundary a
client may spend one window's budget at its end and the next one's at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.storage.schema import rate_counters
from meterwall.storage.transactions import write_transaction


@dataclass(frozen=True, slots=True)
class Budget:
    """At most ``limit`` units per subject in each ``window``; ``name`` keeps budgets apart.

    The subject (an email address, a client network) is stored only as a digest.
    """

    name: str
    limit: int
    window: timedelta

    def key(self, subject: str, now: datetime) -> tuple[str, datetime]:
        """The counter row for ``subject`` at ``now``, and when that window ends."""
        seconds = int(self.window.total_seconds())
        start = int(now.timestamp()) // seconds * seconds
        ends = datetime.fromtimestamp(start + seconds, UTC)
        digest = hashlib.blake2b(subject.encode(), digest_size=16, person=b"mw-limit").hexdigest()
        return f"{self.name}:{start}:{digest}", ends


class _Spent(Exception):
    """A budget had no unit left: roll the others back."""


class Counters:
    """Budgets counted in the configured database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def take(self, claims: Sequence[tuple[Budget, str]], now: datetime) -> bool:
        """Take one unit of each ``(budget, subject)``, all or none; whether there was room."""
        if any(budget.limit < 1 for budget, _ in claims):
            return False
        rows = sorted((*budget.key(subject, now), budget.limit) for budget, subject in claims)
        try:
            async with write_transaction(self._engine) as conn:
                for key, ends, limit in rows:
                    row = self._insert(rate_counters).values(key=key, count=1, expires_at=ends)
                    statement = row.on_conflict_do_update(
                        index_elements=[rate_counters.c.key],
                        set_={"count": rate_counters.c.count + 1},
                        where=rate_counters.c.count < limit,
                    ).returning(rate_counters.c.count)
                    if (await conn.execute(statement)).first() is None:
                        raise _Spent
        except _Spent:
            return False
        return True

    async def give_back(self, budget: Budget, subject: str, now: datetime) -> None:
        """Return one unit taken in the current window (the work it paid for did not count)."""
        key, _ = budget.key(subject, now)
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                update(rate_counters)
                .where(rate_counters.c.key == key, rate_counters.c.count > 0)
                .values(count=rate_counters.c.count - 1)
            )

    async def reset(self, budget: Budget, subject: str, now: datetime) -> None:
        """Forget what ``subject`` spent of ``budget`` in the current window."""
        key, _ = budget.key(subject, now)
        async with write_transaction(self._engine) as conn:
            await conn.execute(delete(rate_counters).where(rate_counters.c.key == key))

    async def purge_expired(self, now: datetime) -> int:
        """Delete counters whose window ended before ``now``; how many went."""
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                delete(rate_counters).where(rate_counters.c.expires_at < now.astimezone(UTC))
            )
        return int(result.rowcount or 0)
