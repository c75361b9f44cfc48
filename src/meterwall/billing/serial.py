"""One webhook processed at a time across every process, without holding a transaction.

Processing an event re-reads its subscription from Stripe, which can take
many seconds.  A database transaction held that long would block every other
writer on SQLite (readers' first reads of the meter among them) and run into
PostgreSQL's limit on sessions idle in a transaction; yet two events about
one subscription must not interleave, or an older snapshot could be stored
over a newer one.  So the order is kept by a lock of its own:

* PostgreSQL: a session-level advisory lock, taken and released outside any
  transaction on a connection of its own, which is closed rather than
  returned to the pool if releasing fails (the server then releases it);
* SQLite (one host): an exclusive lock on a file beside the database, which
  the operating system releases if the process dies;
* an in-memory SQLite database lives in one process: an asyncio lock.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

KEY = "meterwall.webhooks"
SQLITE_WAIT_SECONDS = 30.0
"""How long a webhook waits for the one in progress on SQLite (as SQLite's own busy wait)."""
_POLL_SECONDS = 0.02


class WebhookBusy(Exception):
    """Another webhook held the lock for longer than this one may wait."""


def webhook_lock(engine: AsyncEngine) -> Callable[[], AbstractAsyncContextManager[None]]:
    """What keeps webhook processing one at a time for ``engine``'s database: call the
    result and enter it around each event."""
    if engine.dialect.name == "postgresql":
        return lambda: _postgres(engine)
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        lock = asyncio.Lock()

        @asynccontextmanager
        async def in_process() -> AsyncIterator[None]:
            async with lock:
                yield

        return in_process
    path = f"{database}.webhooks.lock"
    return lambda: _file(path)


@asynccontextmanager
async def _postgres(engine: AsyncEngine) -> AsyncIterator[None]:
    conn = await engine.connect()
    try:
        await conn.execute(text("SELECT pg_advisory_lock(hashtextextended(:k, 0))"), {"k": KEY})
        await conn.commit()
        try:
            yield
        finally:
            await conn.execute(
                text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), {"k": KEY}
            )
            await conn.commit()
    except BaseException:
        # A session lock must never go back to the pool held: close the connection.
        await conn.invalidate()
        raise
    finally:
        await conn.close()


@asynccontextmanager
async def _file(path: str) -> AsyncIterator[None]:
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SQLITE_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if loop.time() > deadline:
                    raise WebhookBusy(
                        f"another webhook held the lock for over {SQLITE_WAIT_SECONDS:g}s"
                    ) from None
                await asyncio.sleep(_POLL_SECONDS)
        yield
    finally:
        os.close(handle)  # closing the file releases the lock
