"""Write transactions that read first: take the write lock up front.

On SQLite in WAL mode a transaction that reads and then writes fails at once
with "database is locked" when another connection wrote in between, whatever
the busy timeout.  Starting it with ``BEGIN IMMEDIATE`` makes it wait its
turn instead.  Elsewhere this is an ordinary transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from meterwall.storage.engine import IMMEDIATE


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction that holds the write lock from its first statement."""
    async with engine.connect() as raw:
        conn = await raw.execution_options(**{IMMEDIATE: True})
        async with conn.begin():
            yield conn
