"""Every networked meter store fails fast when its server is down or hung, and recovers alone.

A :class:`~tests.tcpfault.FaultProxy` sits between the adapter and a real
PostgreSQL or Redis, so "down" is a refused connection and "hung" is a server
that accepts and never answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from meterwall.access.model import MeterState, Policy
from meterwall.access.policy import meter_window
from meterwall.metering.factory import build_meter_store
from meterwall.metering.ports import MeterStore, MeterUnavailable
from meterwall.metering.redis import RedisMeterStore, redis_client
from meterwall.storage.engine import create_engine
from tests.backends import RedisCluster3, delete_redis_prefix, unavailable
from tests.conftest import NOW
from tests.factories import make_settings
from tests.tcpfault import FaultProxy, Mode

TIMEOUT_MS = 250
PROMPT = 1.5
"""Seconds within which a failing call must have given up (the timeout plus slack)."""

WINDOW = meter_window(Policy(), NOW)


@pytest.fixture(params=["postgres", "redis"])
async def faulty(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[MeterStore, FaultProxy]]:
    """A meter store whose server sits behind a fault proxy."""
    backend = request.param
    overrides: dict[str, Any] = {"store_timeout_ms": TIMEOUT_MS}
    if backend == "postgres":
        url = make_url(request.getfixturevalue("postgres_url"))
        proxy = FaultProxy(url.host or "127.0.0.1", url.port or 5432).start()
        overrides["database_url"] = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        )
    else:
        url = make_url(request.getfixturevalue("redis_url"))
        proxy = FaultProxy(url.host or "127.0.0.1", url.port or 6379).start()
        prefix = f"mwfault:{uuid.uuid4().hex[:10]}:"
        request.addfinalizer(lambda: delete_redis_prefix(str(url), prefix))
        overrides.update(
            meter_store="redis",
            redis_url=str(url.set(host="127.0.0.1", port=proxy.port)),
            redis_key_prefix=prefix,
        )
    settings = make_settings(tmp_path, **overrides)
    engine = create_engine(settings.resolved_database_url, timeout=TIMEOUT_MS / 1000)
    store = build_meter_store(settings, engine)
    yield store, proxy
    proxy.set_mode("forward")
    await store.close()
    await engine.dispose()
    proxy.stop()


def operations(store: MeterStore, reader: str) -> dict[str, Callable[[], Awaitable[Any]]]:
    return {
        "check_and_record": lambda: store.check_and_record(reader, WINDOW, "a", 5, NOW),
        "counted": lambda: store.counted(reader, WINDOW),
        "merge": lambda: store.merge(reader + "-anon", reader, WINDOW, NOW),
        "forget": lambda: store.forget(reader + "-other"),
        "ping": store.ping,
    }


@pytest.mark.parametrize("mode", ["down", "hang"])
async def test_every_call_gives_up_promptly_with_meter_unavailable(
    faulty: tuple[MeterStore, FaultProxy], mode: Mode
) -> None:
    store, proxy = faulty
    await store.ping()
    proxy.set_mode(mode)
    for name, call in operations(store, uuid.uuid4().hex).items():
        started = time.monotonic()
        with pytest.raises(MeterUnavailable):
            await call()
        assert time.monotonic() - started < PROMPT, name


@pytest.mark.parametrize("mode", ["down", "hang"])
async def test_the_meter_resumes_by_itself_with_nothing_lost(
    faulty: tuple[MeterStore, FaultProxy], mode: Mode
) -> None:
    store, proxy = faulty
    reader = uuid.uuid4().hex
    assert await store.check_and_record(reader, WINDOW, "a", 5, NOW) == MeterState(1, True)
    proxy.set_mode(mode)
    for _ in range(3):
        with pytest.raises(MeterUnavailable):
            await store.check_and_record(reader, WINDOW, "b", 5, NOW)
    proxy.set_mode("forward")
    started = time.monotonic()
    await eventually(store, [reader], "b", within=PROMPT)
    assert time.monotonic() - started < PROMPT
    assert await store.check_and_record(reader, WINDOW, "b", 5, NOW) == MeterState(2, True)
    assert [r.article_id for r in await store.counted(reader, WINDOW)] == ["a", "b"]


async def test_a_killed_cluster_master_fails_fast_and_the_meter_resumes_when_it_is_back() -> None:
    """SIGKILL one of three masters of a cluster of our own, then start it again."""
    server = shutil.which("redis-server")
    if server is None:
        unavailable("redis-server is not installed (Debian package redis-server)")
    assert server is not None
    cluster = RedisCluster3(server)
    await asyncio.to_thread(cluster.start)
    store = RedisMeterStore(
        redis_client(cluster.url, cluster=True, timeout=TIMEOUT_MS / 1000),
        buckets=64,
        timeout=TIMEOUT_MS / 1000,
    )
    readers = [uuid.uuid4().hex for _ in range(30)]
    try:
        await eventually(store, readers, "a")
        cluster.processes[1].kill()
        await asyncio.to_thread(cluster.processes[1].wait)
        failed = 0
        for reader in readers:
            started = time.monotonic()
            try:
                await store.check_and_record(reader, WINDOW, "b", 5, NOW)
            except MeterUnavailable:
                failed += 1
            took = time.monotonic() - started
            assert took < PROMPT, f"a call took {took:.2f}s while a master was down"
        assert failed > 0
        cluster.processes[1] = cluster.start_node(cluster.ports[1])
        await eventually(store, readers, "c")
    finally:
        await store.close()
        await asyncio.to_thread(cluster.stop)


async def eventually(
    store: MeterStore, readers: list[str], article: str, within: float = 30
) -> None:
    """Count ``article`` for every reader, retrying while the store is unavailable."""
    deadline = time.monotonic() + within
    pending = set(readers)
    while pending and time.monotonic() < deadline:
        for reader in list(pending):
            with contextlib.suppress(MeterUnavailable):
                assert (await store.check_and_record(reader, WINDOW, article, 5, NOW)).counted
                pending.discard(reader)
        await asyncio.sleep(0.1)
    assert not pending, "the meter did not come back"
