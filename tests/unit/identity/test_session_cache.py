"""Known anonymous readers cost no database trip; sign-ins and sign-outs still show at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.identity.accounts import AccountStore
from meterwall.identity.session_cache import AnonymousAwareSessionStore
from meterwall.identity.sessions import SessionStore
from meterwall.settings import AccountSettings
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Queries:
    """Counts the statements an engine sends."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sessions.db'}"
    upgrade(url)
    made = create_engine(url)
    yield made
    await made.dispose()


async def test_a_known_anonymous_reader_is_answered_from_memory(engine: AsyncEngine) -> None:
    store = AnonymousAwareSessionStore(engine, AccountSettings(), clock=Clock())
    queries = Queries(engine)
    assert await store.lookup("anonymous-reader", NOW) is None
    first = queries.count
    assert first >= 1
    for _ in range(5):
        assert await store.lookup("anonymous-reader", NOW) is None
    assert queries.count == first


async def test_the_memory_expires(engine: AsyncEngine) -> None:
    clock = Clock()
    store = AnonymousAwareSessionStore(engine, AccountSettings(), ttl=30, clock=clock)
    queries = Queries(engine)
    await store.lookup("anonymous-reader", NOW)
    before = queries.count
    clock.now += 31
    await store.lookup("anonymous-reader", NOW)
    assert queries.count > before


async def test_a_session_started_for_a_remembered_id_is_found(engine: AsyncEngine) -> None:
    account = await AccountStore(engine).get_or_create("reader@example.com", NOW)
    store = AnonymousAwareSessionStore(engine, AccountSettings(), clock=Clock())
    assert await store.lookup("reader-id", NOW) is None
    started = await store.start(account.id, "reader-id", "Firefox/1 Linux", "127.0.0.1", NOW)
    found = await store.lookup("reader-id", NOW)
    assert found is not None
    assert found.id == started.id


async def test_a_signed_in_reader_is_looked_up_every_time_so_sign_out_is_immediate(
    engine: AsyncEngine,
) -> None:
    account = await AccountStore(engine).get_or_create("reader@example.com", NOW)
    store = AnonymousAwareSessionStore(engine, AccountSettings(), clock=Clock())
    await store.start(account.id, "signed-in", "", "127.0.0.1", NOW)
    assert await store.lookup("signed-in", NOW) is not None
    await SessionStore(engine, AccountSettings()).end_reader("signed-in")  # another worker
    assert await store.lookup("signed-in", NOW) is None


async def test_memory_is_bounded(engine: AsyncEngine) -> None:
    store = AnonymousAwareSessionStore(engine, AccountSettings(), max_entries=3, clock=Clock())
    queries = Queries(engine)
    for n in range(5):
        await store.lookup(f"reader-{n}", NOW)
    before = queries.count
    await store.lookup("reader-0", NOW)  # evicted: asked again
    assert queries.count > before
    before = queries.count
    await store.lookup("reader-4", NOW)  # still remembered
    assert queries.count == before
