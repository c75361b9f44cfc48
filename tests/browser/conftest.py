"""Real headless Chromium (Debian's, driven by Playwright) against a live local server."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from meterwall.app import create_app
from meterwall.content.model import Article
from meterwall.content.store import ArticleStore
from meterwall.settings import Settings
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade
from tests.factories import make_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A uvicorn server for one app, on a free loopback port, in a background thread."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def seed(settings: Settings, articles: list[Article]) -> None:
    """Migrate the database and store ``articles``, on an engine of its own."""
    url = settings.resolved_database_url
    upgrade(url)

    async def save() -> None:
        engine = create_engine(url)
        await ArticleStore(engine).save_all((a, "test") for a in articles)
        await engine.dispose()

    # Playwright's sync API keeps an event loop running in this thread.
    worker = threading.Thread(target=asyncio.run, args=(save(),))
    worker.start()
    worker.join()


@pytest.fixture
def live_site(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start a live meterwall site with the given articles and settings overrides."""
    servers: list[LiveServer] = []

    def start(articles: list[Article], **overrides: Any) -> LiveServer:
        port = free_port()
        settings = make_settings(
            tmp_path, public_url=f"http://127.0.0.1:{port}", auto_migrate=False, **overrides
        )
        seed(settings, articles)
        server = LiveServer(create_app(settings))
        server.port, server.url = port, f"http://127.0.0.1:{port}"
        server.server.config.port = port
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium browser; skipped outside CI when Chromium is not installed.

    Module-scoped: Playwright's sync API runs an event loop in the main thread
    while it is open, which async tests elsewhere in the session cannot share.
    """
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI: apt-get install chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots are saved for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
