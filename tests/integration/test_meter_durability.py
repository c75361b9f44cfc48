"""At start, a meter Redis that keeps nothing on disk is reported, or refused on request."""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meterwall.metering.durability import MetersNotDurable
from tests.backends import free_port, redis_answers, unavailable
from tests.factories import make_settings


def _own_redis(appendonly: str) -> Iterator[str]:
    """A Redis of its own (``appendonly`` yes or no, no save points) in a temporary folder."""
    server = shutil.which("redis-server")
    if server is None:
        unavailable("redis-server is not installed (Debian package redis-server)")
    folder = Path(tempfile.mkdtemp(prefix="mw-persist-"))
    port = free_port()
    process = subprocess.Popen(
        [
            *(server, "--port", str(port), "--bind", "127.0.0.1"),
            *("--appendonly", appendonly, "--save", "", "--dir", str(folder)),
            *("--logfile", str(folder / "redis.log")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 20
    while not redis_answers(url):
        assert time.monotonic() < deadline, "the test Redis did not start"
        time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(10)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def durable_redis() -> Iterator[str]:
    """A Redis with the append-only file on."""
    yield from _own_redis("yes")


@pytest.fixture(scope="module")
def forgetful_redis() -> Iterator[str]:
    """A Redis that keeps nothing on disk."""
    yield from _own_redis("no")


async def _start(app: Any) -> None:
    async with app.router.lifespan_context(app):
        pass


async def _app(tmp_path: Path, url: str, **extra: Any) -> Any:
    from meterwall.app import create_app

    settings = make_settings(tmp_path, meter_store="redis", redis_url=url, **extra)
    return create_app(settings)


async def test_a_redis_without_persistence_is_reported_at_start(
    tmp_path: Path, forgetful_redis: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="meterwall.metering.durability")
    await _start(await _app(tmp_path, forgetful_redis))
    assert "every meter is forgotten when it restarts" in caplog.text


async def test_a_redis_without_persistence_is_refused_when_required(
    tmp_path: Path, forgetful_redis: str
) -> None:
    app = await _app(tmp_path, forgetful_redis, redis_require_persistence=True)
    with pytest.raises(MetersNotDurable, match="appendonly"):
        await _start(app)


async def test_a_redis_with_an_append_only_file_starts_quietly(
    tmp_path: Path, durable_redis: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="meterwall.metering.durability")
    await _start(await _app(tmp_path, durable_redis, redis_require_persistence=True))
    assert "forgotten" not in caplog.text


async def test_an_unreachable_redis_does_not_stop_the_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="meterwall.metering.durability")
    url = f"redis://127.0.0.1:{free_port()}/0"
    await _start(await _app(tmp_path, url, redis_require_persistence=True))
    assert "could not check" in caplog.text
