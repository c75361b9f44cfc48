"""Proxy mode over real HTTP: uvicorn servers on loopback, the real CLI commands."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from meterwall.app import create_app
from meterwall.storage.migrate import upgrade
from tests.factories import make_settings
from tests.fixtures.upstream.harness import LiveServer, assert_no_leak, free_port
from tests.fixtures.upstream.site import ARTICLES, CSS, PATHS, PNG, create_upstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[LiveServer]:
    with LiveServer(create_upstream()) as server:
        yield server


@pytest.fixture
def proxy(upstream: LiveServer, tmp_path: Path) -> Iterator[LiveServer]:
    port = free_port()
    settings = make_settings(
        tmp_path,
        auto_migrate=False,
        public_url=f"http://127.0.0.1:{port}",
        proxy={"upstream": upstream.url},
        policy={"anonymous_limit": 0},
    )
    upgrade(settings.resolved_database_url)
    with LiveServer(create_app(settings), port=port) as server:
        yield server


def _audit(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meterwall", "audit", url, "--timeout", "10"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_articles_are_gated_over_real_http(proxy: LiveServer) -> None:
    with httpx.Client(base_url=proxy.url) as client:
        for n in (1, 3, 5):
            response = client.get(PATHS[n])
            assert response.status_code == 200
            assert_no_leak(response, ARTICLES[n])
            assert f"LEDE-{n}" in response.text


def test_assets_cross_the_wire_intact(proxy: LiveServer) -> None:
    with httpx.Client(base_url=proxy.url) as client:
        css = client.get("/assets/site.css", headers={"Accept-Encoding": "gzip"})
        png = client.get("/assets/photo.png")
        redirect = client.get("/redirect")
    assert css.headers["content-encoding"] == "gzip" and css.text == CSS
    assert png.content == PNG
    assert redirect.headers["location"] == proxy.url + "/2026/11/harbor-gates/"


def test_audit_flags_the_upstream_and_passes_the_gated_proxy(
    upstream: LiveServer, proxy: LiveServer
) -> None:
    leaky = _audit(upstream.url + PATHS[3])
    assert leaky.returncode == 1, leaky.stdout + leaky.stderr
    assert "LEAK" in leaky.stdout
    assert "hydration state" in leaky.stdout
    gated = _audit(proxy.url + PATHS[3])
    assert gated.returncode == 0, gated.stdout
    assert "Result: no leaks found" in gated.stdout


def test_audit_follows_amp_and_feed_links(upstream: LiveServer, proxy: LiveServer) -> None:
    leaky = _audit(upstream.url + PATHS[1])
    assert any(line.startswith("  LEAK  feed") for line in leaky.stdout.splitlines()), leaky.stdout
    assert any(line.startswith("  LEAK  AMP version") for line in leaky.stdout.splitlines())
    gated = _audit(proxy.url + PATHS[1])
    assert "  ok    feed" in gated.stdout and "  ok    AMP version" in gated.stdout


def test_audit_of_an_unreachable_url_says_so(tmp_path: Path) -> None:
    result = _audit(f"http://127.0.0.1:{free_port()}/x")
    assert result.returncode == 2
    assert "cannot fetch" in result.stderr


def test_audit_of_a_page_that_answers_404_exits_2(upstream: LiveServer) -> None:
    result = _audit(upstream.url + "/no/such/story/")
    assert result.returncode == 2, result.stdout
    assert "HTTP 404" in result.stderr and "no leaks" not in result.stdout


def test_meterwall_proxy_is_one_command(upstream: LiveServer, tmp_path: Path) -> None:
    port = free_port()
    env: dict[str, Any] = {
        **os.environ,
        "METERWALL_DATA_DIR": str(tmp_path),
        "METERWALL_SECRET_KEY": "live-test-secret",
        "METERWALL_POLICY__ANONYMOUS_LIMIT": "0",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "meterwall",
            "proxy",
            "--upstream",
            upstream.url,
            "--port",
            str(port),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        response = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}{PATHS[2]}", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert response is not None, "meterwall proxy did not start"
        assert_no_leak(response, ARTICLES[2])
        assert "mw-gate" in response.text
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
