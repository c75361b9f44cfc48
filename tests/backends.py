"""Real backends for tests: a throwaway PostgreSQL database, Redis, and a 3-master Redis Cluster.

Loaded as a pytest plugin by ``tests/conftest.py``.  When a service is missing
the tests that need it are skipped with the reason, except under ``CI=true``,
where a missing service fails loudly: CI must never pass by skipping.

Environment:

* ``METERWALL_TEST_DATABASE_URL``: a PostgreSQL server to create throwaway
  databases on (default ``postgresql://postgres@127.0.0.1:5432/postgres``).
  Setting it also makes the ``app_backends`` fixture put the app-level tests
  on PostgreSQL.
* ``METERWALL_TEST_REDIS_URL``: a Redis server (default
  ``redis://127.0.0.1:6379/0``); setting it also puts the app-level tests'
  meter on Redis.  Tests use unique key prefixes and delete their keys.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from meterwall.storage.engine import normalise_database_url
from meterwall.storage.migrate import upgrade

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(what: str) -> None:
    """Skip (or, under CI, fail) a test whose service is missing."""
    if IN_CI:
        pytest.fail(f"CI=true but {what}", pytrace=False)
    pytest.skip(f"{what} (CI=true makes this a failure)")


def postgres_server_url() -> str:
    """The PostgreSQL server tests create their databases on."""
    return os.environ.get("METERWALL_TEST_DATABASE_URL") or DEFAULT_POSTGRES


def redis_server_url() -> str:
    """The Redis server tests use."""
    return os.environ.get("METERWALL_TEST_REDIS_URL") or DEFAULT_REDIS


def _asyncpg_dsn(url: str) -> str:
    return (
        make_url(normalise_database_url(url))
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def _admin(url: str, *statements: str) -> list[str]:
    """Run SQL statements on ``url`` (from sync code, even inside a running event loop).

    Returns the first column of the last statement's rows.
    """
    import asyncpg

    async def run() -> list[str]:
        conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
        rows: list[str] = []
        try:
            for statement in statements:
                rows = [str(r[0]) for r in await conn.fetch(statement)]
        finally:
            await conn.close()
        return rows

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _drop_orphans(server: str) -> None:
    """Drop databases left by test sessions on this machine that died before cleaning up."""
    if make_url(server).host not in (None, "127.0.0.1", "localhost", "::1"):
        return
    names = _admin(
        server, "SELECT datname FROM pg_database WHERE datname LIKE 'meterwall\\_test\\_%'"
    )
    for name in names:
        pid = name.split("_")[2]
        if pid.isdigit() and not _pid_alive(int(pid)):
            _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_postgres_database(*, migrate: bool = True) -> str | None:
    """Create (and migrate) a throwaway database; its URL, or None if PostgreSQL is down."""
    server = postgres_server_url()
    name = f"meterwall_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        _drop_orphans(server)
        _admin(server, f'CREATE DATABASE "{name}"')
    except (OSError, TimeoutError):
        return None
    url = normalise_database_url(
        make_url(server).set(database=name).render_as_string(hide_password=False)
    )
    if migrate:
        upgrade(url)
    return url


def drop_postgres_database(url: str) -> None:
    """Drop a database made by :func:`create_postgres_database`."""
    name = make_url(url).database
    _admin(postgres_server_url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_answers(url: str) -> bool:
    """Whether a Redis server answers PING at ``url``."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def delete_redis_prefix(url: str, prefix: str, *, cluster: bool = False) -> None:
    """Delete every key under ``prefix`` (a test's own, never anyone else's)."""
    import redis
    from redis.cluster import RedisCluster

    client: Any = (
        RedisCluster.from_url(url, socket_timeout=5) if cluster else redis.Redis.from_url(url)
    )
    try:
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated throwaway PostgreSQL database for this test session (dropped afterwards)."""
    url = create_postgres_database()
    if url is None:
        unavailable(f"PostgreSQL is not reachable at {postgres_server_url()}")
    assert url is not None
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A reachable Redis server (tests isolate themselves by key prefix)."""
    url = redis_server_url()
    if not redis_answers(url):
        unavailable(f"Redis is not reachable at {url}")
    return url


def free_port() -> int:
    """A loopback port that is free, and whose cluster bus port (+10000) is free too."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + 10_000 > 65_535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10_000))
            except OSError:
                continue
        return port


class RedisCluster3:
    """Three Redis masters in cluster mode on loopback, each in its own temp dir."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.root = Path(tempfile.mkdtemp(prefix="mw-cluster-"))
        self.ports: list[int] = []
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """A URL for one node; the cluster client discovers the others."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start_node(self, port: int) -> subprocess.Popen[bytes]:
        """Start one node (also used to bring a killed node back)."""
        folder = self.root / str(port)
        folder.mkdir(exist_ok=True)
        return subprocess.Popen(
            [
                self.server,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "2000",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(folder),
                "--logfile",
                str(folder / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self, timeout: float = 30) -> None:
        """Start the nodes, assign the slots and wait for ``cluster_state:ok``."""
        self.ports = [free_port() for _ in range(3)]
        self.processes = [self.start_node(port) for port in self.ports]
        deadline = time.monotonic() + timeout
        for port in self.ports:
            while not redis_answers(f"redis://127.0.0.1:{port}/0"):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"cluster node on port {port} did not start")
                time.sleep(0.05)
        cli = shutil.which("redis-cli") or "redis-cli"
        subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports), "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        while not self.ok():
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")
            time.sleep(0.1)

    def ok(self) -> bool:
        """Whether every node reports ``cluster_state:ok``."""
        import redis

        for port in self.ports:
            client = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
            try:
                if client.cluster("info")["cluster_state"] != "ok":
                    return False
            except (redis.RedisError, OSError):
                return False
            finally:
                client.close()
        return True

    def stop(self) -> None:
        """Kill every node and delete the temp dir."""
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    """A real 3-master Redis Cluster started for this session (killed afterwards)."""
    server = shutil.which("redis-server")
    if server is None or shutil.which("redis-cli") is None:
        unavailable("redis-server and redis-cli are not installed (Debian package redis-server)")
    assert server is not None
    cluster = RedisCluster3(server)
    try:
        cluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        cluster.stop()
        unavailable(f"could not start a Redis Cluster: {exc}")
    yield cluster.url
    cluster.stop()


@pytest.fixture
def app_backends(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings putting an app-level test on PostgreSQL and/or Redis, as the environment asks.

    With neither ``METERWALL_TEST_DATABASE_URL`` nor ``METERWALL_TEST_REDIS_URL``
    set this is empty and apps run on their own SQLite file.  PostgreSQL apps
    share the session's throwaway database, emptied before each app is built;
    Redis apps get a key prefix of their own, deleted after the test.
    """
    overrides: dict[str, Any] = {}
    if os.environ.get("METERWALL_TEST_DATABASE_URL"):
        url = request.getfixturevalue("postgres_url")
        empty_database(url)
        overrides["database_url"] = url
    if os.environ.get("METERWALL_TEST_REDIS_URL"):
        url = request.getfixturevalue("redis_url")
        prefix = f"mwtest:{uuid.uuid4().hex[:10]}:"
        request.addfinalizer(lambda: delete_redis_prefix(url, prefix))
        overrides.update(meter_store="redis", redis_url=url, redis_key_prefix=prefix)
    return overrides


def empty_database(url: str) -> None:
    """Delete every row of every meterwall table (the schema stays)."""
    from meterwall.storage.schema import metadata

    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    _admin(url, f"TRUNCATE {tables} CASCADE")
