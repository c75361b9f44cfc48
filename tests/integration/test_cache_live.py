"""The cache over real HTTP: ``meterwall proxy`` with two worker processes and the purge CLI."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.cache_origin import ARTICLE, Origin
from tests.fixtures.upstream.harness import LiveServer, assert_full_text, free_port
from tests.fixtures.upstream.site import ARTICLES

TOKEN = "live-purge-token-0123456789"


@pytest.fixture(scope="module")
def origin() -> Iterator[tuple[Origin, LiveServer]]:
    origin = Origin()
    origin.script(ARTICLE, headers={"Cache-Control": "public, max-age=600"})
    with LiveServer(origin.app) as server:
        yield origin, server


def environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("METERWALL_")}
    env.update(
        METERWALL_DATA_DIR=str(data_dir),
        METERWALL_SECRET_KEY="live-test-secret",
        METERWALL_CACHE__ENABLED="true",
        METERWALL_CACHE__PURGE_TOKEN=TOKEN,
        METERWALL_OPS__ACCESS_LOG="false",
    )
    return env


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache-live")


@pytest.fixture(scope="module")
def proxy(origin: tuple[Origin, LiveServer], data_dir: Path) -> Iterator[str]:
    """One ``meterwall proxy --workers 2`` for the module (starting it takes seconds)."""
    port = free_port()
    command = [sys.executable, "-m", "meterwall", "proxy", "--upstream", origin[1].url]
    command += ["--port", str(port), "--workers", "2"]
    process = subprocess.Popen(
        command,
        env=environment(data_dir),
        cwd=data_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/healthz", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("meterwall proxy did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def read_many(url: str, count: int = 8) -> list[httpx.Response]:
    """``count`` readers on fresh connections (so both workers answer some)."""
    return [
        httpx.get(url + ARTICLE, headers={"Accept-Encoding": "gzip"}, timeout=10)
        for _ in range(count)
    ]


def test_workers_share_purges_made_by_the_cli(
    origin: tuple[Origin, LiveServer], proxy: str, data_dir: Path
) -> None:
    upstream, _ = origin
    for response in read_many(proxy):
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["cache-control"] == "private, no-store"
        assert_full_text(response, ARTICLES[1])
        assert "VERSION-1" in response.text
    assert 1 <= upstream.hits[ARTICLE] <= 2, "at most one fetch per worker process"
    upstream.version = 2
    purge = subprocess.run(
        [sys.executable, "-m", "meterwall", "cache", "purge", ARTICLE],
        env=environment(data_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert purge.returncode == 0, purge.stderr
    time.sleep(0.3)
    assert all("VERSION-2" in r.text for r in read_many(proxy)), "every worker dropped its copy"


def test_the_purge_endpoint_works_over_http_and_pages_decode_byte_for_byte(
    origin: tuple[Origin, LiveServer], proxy: str
) -> None:
    upstream, _ = origin
    with httpx.Client() as client:
        request = client.build_request("GET", proxy + ARTICLE, headers={"Accept-Encoding": "gzip"})
        raw = client.send(request, stream=True)
        body = b"".join(raw.iter_raw())
        raw.close()
        plain = client.get(proxy + ARTICLE, headers={"Accept-Encoding": "identity"})
        answer = client.post(
            proxy + "/_meterwall/purge",
            json={"url": ARTICLE},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert gzip.decompress(body) == plain.content, "two new readers, one page, two encodings"
    assert answer.status_code == 200
    assert upstream.hits[ARTICLE] >= 1
