"""``meterwall serve`` as an operator runs it: a real uvicorn with worker processes.

Each server here listens on a free loopback port and is stopped by the test
(SIGTERM, then SIGKILL after a bound), so nothing outlives the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from meterwall.content.store import ArticleStore
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade
from tests.backends import free_port
from tests.conftest import standard_articles

STARTUP_SECONDS = 45


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METERWALL_", "PROMETHEUS"))}
    env.update(
        METERWALL_DATA_DIR=str(tmp_path / "data"),
        METERWALL_SECRET_KEY="server-test-secret",
        METERWALL_PUBLIC_URL="http://127.0.0.1:8000",
        METERWALL_OPS__GRACEFUL_SHUTDOWN_SECONDS="20",
        # Every read here must be metered, never the fallback of a slow, busy machine.
        METERWALL_STORE_TIMEOUT_MS="30000",
    )
    env.update(extra)
    return env


def seed(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'meterwall.db'}"
    upgrade(url)

    async def save() -> None:
        engine = create_engine(url)
        await ArticleStore(engine).save_all((a, "test") for a in standard_articles())
        await engine.dispose()

    asyncio.run(save())


def meterwall(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meterwall", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class Server:
    """A ``meterwall serve`` process on a free port."""

    def __init__(self, tmp_path: Path, workers: int) -> None:
        self.port = free_port()
        self.log = tmp_path / "server.log"
        command = ["serve", "--port", str(self.port), "--workers", str(workers)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "meterwall", *command],
            env=environment(tmp_path),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        pytest.fail(f"server did not become ready:\n{self.log.read_text()}")

    def lines(self) -> list[dict[str, object]]:
        found = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                found.append(json.loads(line))
        return found

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[Server]:
    seed(tmp_path)
    server = Server(tmp_path, workers=2)
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


def metric(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_metrics_add_up_over_workers_and_logs_are_json_lines(two_workers: Server) -> None:
    sent = 0
    deadline = time.monotonic() + 30
    serving: set[object] = set()
    while (len(serving) < 2 or sent < 10) and time.monotonic() < deadline:
        with httpx.Client(base_url=two_workers.url, timeout=5) as fresh:
            response = fresh.get(f"/articles/story-{1 + sent % 8}")
        assert response.status_code == 200
        sent += 1
        time.sleep(0.02)
        serving = {
            line["pid"]
            for line in two_workers.lines()
            if line.get("logger") == "meterwall.request" and line.get("route") == "/articles/{slug}"
        }
    assert len(serving) == 2, "both workers should have served some of the requests"
    scraped = httpx.get(f"{two_workers.url}/metrics", timeout=5).text
    assert metric(scraped, "meterwall_decisions_total", outcome="metered") == sent
    requests = metric(
        scraped,
        "meterwall_http_requests_total",
        method="GET",
        route="/articles/{slug}",
        status="200",
    )
    assert requests == sent
    page_lines = [
        line
        for line in two_workers.lines()
        if line.get("logger") == "meterwall.request" and line.get("route") == "/articles/{slug}"
    ]
    assert len(page_lines) == sent
    assert all(line["outcome"] == "metered" and line["request_id"] for line in page_lines)


def test_sigterm_lets_a_request_in_flight_finish_then_exits_cleanly(two_workers: Server) -> None:
    body = b"csrf=not-a-valid-token-at-all"
    with socket.create_connection(("127.0.0.1", two_workers.port), timeout=20) as conn:
        head = (
            f"POST /account/meter/delete HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
        )
        conn.sendall(head.encode())
        # The server says "100 Continue" once the app asks for the body: the
        # request is now in flight, and stays so until the body arrives.
        assert conn.recv(1024).startswith(b"HTTP/1.1 100 Continue")
        two_workers.process.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert two_workers.process.poll() is None, "the server must wait for the request"
        conn.sendall(body)
        answer = conn.recv(65_536)
    assert answer.startswith(b"HTTP/1.1 "), answer[:100]
    status = int(answer.split(b" ", 2)[1])
    assert status < 500
    assert two_workers.stop() == 0


@pytest.mark.parametrize(
    ("command", "env", "named"),
    [
        (["serve"], {"METERWALL_TRUSTED_PROXIES": '["not-an-ip"]'}, "trusted_proxies"),
        (["serve"], {"METERWALL_OPS__METRICS_TOKEN": "short"}, "ops.metrics_token"),
        (["serve", "--workers", "0"], {}, "--workers must be 1 or more"),
        (
            ["serve"],
            {"METERWALL_DATABASE_URL": "postgresql://meterwall@127.0.0.1:1/none"},
            "database_url (env METERWALL_DATABASE_URL)",
        ),
        (["serve"], {"METERWALL_METER_STORE": "redis"}, "redis_url"),
        (["demo"], {"METERWALL_POLICY__ANONYMOUS_LIMIT": "many"}, "policy.anonymous_limit"),
        (
            ["proxy", "--upstream", "http://127.0.0.1:9"],
            {"METERWALL_OPS__LOG_LEVEL": "loud"},
            "ops.log_level (env METERWALL_OPS__LOG_LEVEL)",
        ),
    ],
)
def test_bad_settings_stop_the_start_with_a_message_and_status_2(
    tmp_path: Path, command: list[str], env: dict[str, str], named: str
) -> None:
    port = str(free_port())
    done = meterwall(*command, "--port", port, env=environment(tmp_path, **env), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert named in done.stderr
    assert "Traceback" not in done.stderr


def test_a_busy_port_fails_before_listening_with_a_hint(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        started = time.monotonic()
        done = meterwall("serve", "--port", port, env=environment(tmp_path), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert "--port" in done.stderr
    assert "listening" not in done.stdout, "no 'listening' line for a server that cannot listen"
    assert time.monotonic() - started < 30


def test_links_follow_the_port_when_no_public_url_is_set(tmp_path: Path) -> None:
    seed(tmp_path)
    env = environment(tmp_path)
    del env["METERWALL_PUBLIC_URL"]
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "meterwall", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.poll() is None, "the server stopped"
            try:
                feed = httpx.get(f"http://127.0.0.1:{port}/feed.xml", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert f"http://127.0.0.1:{port}/articles/" in feed.text
        assert ":8000" not in feed.text
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
