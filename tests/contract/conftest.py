"""The ``store`` fixture: every MeterStore adapter, built through the settings factory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from meterwall.metering.factory import build_meter_store
from meterwall.metering.ports import MeterStore
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade
from tests.backends import delete_redis_prefix
from tests.factories import make_settings

BACKENDS = ["sqlite", "postgres", "redis", "redis-cluster"]


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file shared by the session (tests use fresh reader ids)."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('contract') / 'meter.db'}"
    upgrade(url)
    return url


def backend_settings(request: pytest.FixtureRequest, backend: str) -> dict[str, Any]:
    """Settings that select ``backend``, with a Redis key prefix of the test's own."""
    if backend == "sqlite":
        return {"database_url": request.getfixturevalue("sqlite_url")}
    if backend == "postgres":
        return {"database_url": request.getfixturevalue("postgres_url")}
    cluster = backend == "redis-cluster"
    url = request.getfixturevalue("redis_cluster_url" if cluster else "redis_url")
    prefix = f"mwcontract:{uuid.uuid4().hex[:10]}:"
    request.addfinalizer(lambda: delete_redis_prefix(url, prefix, cluster=cluster))
    return {
        "database_url": request.getfixturevalue("sqlite_url"),
        "meter_store": "redis",
        "redis_url": url,
        "redis_cluster": cluster,
        "redis_key_prefix": prefix,
        "redis_meter_buckets": 64,
    }


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of the adapter under test."""
    return str(request.param)


@pytest.fixture
async def store_factory(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> AsyncIterator[Callable[..., MeterStore]]:
    """Build stores for ``backend`` (with setting overrides); all closed after the test."""
    base = backend_settings(request, backend)
    built: list[tuple[MeterStore, Any]] = []

    def build(**overrides: Any) -> MeterStore:
        settings = make_settings(tmp_path, **{"store_timeout_ms": 20_000, **base, **overrides})
        engine = create_engine(settings.resolved_database_url, timeout=20)
        store = build_meter_store(settings, engine)
        built.append((store, engine))
        return store

    yield build
    for store, engine in built:
        await store.close()
        await engine.dispose()


@pytest.fixture
def store(store_factory: Callable[..., MeterStore]) -> MeterStore:
    """The adapter under test, with a generous timeout: these tests are about exactness."""
    return store_factory()
