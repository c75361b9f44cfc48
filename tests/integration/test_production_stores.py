"""Production stores end to end: migrations on PostgreSQL, and app servers sharing one meter.

Several stateless app servers in front of PostgreSQL and Redis (or Redis
Cluster) must behave as one site: a reader's meter follows them from server
to server, and parallel requests spread over the servers still grant exactly
one article at the last free read.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from meterwall.storage.engine import create_engine
from meterwall.storage.schema import metadata
from tests.backends import (
    create_postgres_database,
    delete_redis_prefix,
    drop_postgres_database,
    postgres_server_url,
    unavailable,
)
from tests.conftest import standard_articles
from tests.leaks import assert_full_text, assert_no_leak
from tests.tcpfault import FaultProxy

ARTICLES = {a.slug: a for a in standard_articles()}


def meterwall(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meterwall", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    url = create_postgres_database(migrate=False)
    if url is None:
        unavailable(f"PostgreSQL is not reachable at {postgres_server_url()}")
    assert url is not None
    yield url
    drop_postgres_database(url)


async def test_meterwall_migrate_builds_the_schema_on_postgres_from_a_plain_url(
    empty_postgres: str, tmp_path: Path
) -> None:
    plain = make_url(empty_postgres).set(drivername="postgres").render_as_string(False)
    env = {"METERWALL_DATABASE_URL": plain, "METERWALL_DATA_DIR": str(tmp_path)}
    for _ in range(2):
        done = await asyncio.to_thread(meterwall, "migrate", **env)
        assert done.returncode == 0, done.stderr
        assert "database is up to date" in done.stdout
    engine = create_engine(empty_postgres)
    async with engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    await engine.dispose()
    assert {t.name for t in metadata.sorted_tables} <= tables


async def test_an_unsupported_database_url_stops_migrate_with_a_clear_message(
    tmp_path: Path,
) -> None:
    done = await asyncio.to_thread(
        meterwall,
        "migrate",
        METERWALL_DATABASE_URL="mysql://db/news",
        METERWALL_DATA_DIR=str(tmp_path),
    )
    assert done.returncode == 2
    assert "database_url (env METERWALL_DATABASE_URL)" in done.stderr
    assert "meterwall runs on PostgreSQL" in done.stderr
    assert "Traceback" not in done.stderr


async def test_migrate_says_so_when_postgres_is_unreachable(tmp_path: Path) -> None:
    proxy = FaultProxy("127.0.0.1", 5432).start()
    proxy.set_mode("down")
    try:
        done = await asyncio.to_thread(
            meterwall,
            "migrate",
            METERWALL_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{proxy.port}/nowhere",
            METERWALL_DATA_DIR=str(tmp_path),
        )
    finally:
        proxy.stop()
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert f"127.0.0.1:{proxy.port}" in done.stderr


@pytest.fixture(params=["redis", "redis-cluster"])
def shared_stores(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings for app servers sharing the session's PostgreSQL and a Redis (or Cluster) meter."""
    cluster = request.param == "redis-cluster"
    redis_url = request.getfixturevalue("redis_cluster_url" if cluster else "redis_url")
    prefix = f"mwscale:{uuid.uuid4().hex[:10]}:"
    request.addfinalizer(lambda: delete_redis_prefix(redis_url, prefix, cluster=cluster))
    return {
        "database_url": request.getfixturevalue("postgres_url"),
        "meter_store": "redis",
        "redis_url": redis_url,
        "redis_cluster": cluster,
        "redis_key_prefix": prefix,
        "store_timeout_ms": 5_000,
    }


async def servers(app_factory: Callable[..., Any], settings: dict[str, Any]) -> list[Starlette]:
    """Two app servers on the same stores (the first seeds the articles)."""
    first = await app_factory(**settings)
    second = await app_factory(articles=[], **settings)
    return [first, second]


def client_for(app: Starlette, cookies: httpx.Cookies | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", cookies=cookies
    )


async def test_the_meter_follows_a_reader_across_app_servers(
    app_factory: Callable[..., Any], shared_stores: dict[str, Any]
) -> None:
    apps = await servers(app_factory, shared_stores)
    async with client_for(apps[0]) as first:
        await first.get("/articles/story-1")
        cookies = first.cookies
    for n in range(2, 6):
        async with client_for(apps[n % 2], cookies) as client:
            response = await client.get(f"/articles/story-{n}")
            assert f"{n} of 5 stories this month" in response.text
            assert_full_text(response, ARTICLES[f"story-{n}"])
    for app in apps:
        async with client_for(app, cookies) as client:
            gated = await client.get("/articles/story-6")
            assert_no_leak(gated, ARTICLES["story-6"])
            again = await client.get("/articles/story-3")
            assert_full_text(again, ARTICLES["story-3"])


async def test_a_race_spread_over_app_servers_grants_exactly_one_more_story(
    app_factory: Callable[..., Any], shared_stores: dict[str, Any]
) -> None:
    """ATTACKS.md row 19 on PostgreSQL + Redis, with requests spread over two servers."""
    apps = await servers(app_factory, shared_stores)
    async with client_for(apps[0]) as first:
        for n in range(1, 5):
            await first.get(f"/articles/story-{n}")
        cookies = first.cookies
    clients = [client_for(app, cookies) for app in apps]
    try:
        responses = await asyncio.gather(
            *(clients[i % 2].get(f"/articles/story-{5 + i % 4}") for i in range(40))
        )
    finally:
        for client in clients:
            await client.aclose()
    opened = {r.url.path for r in responses if "SECRET-" in r.text and r.status_code == 200}
    assert len(opened) == 1
    assert all(r.status_code == 200 for r in responses)
