"""Gated upstream pages in real headless Chromium: they render, with the gate, without the body."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from meterwall.app import create_app
from meterwall.storage.migrate import upgrade
from tests.factories import make_settings
from tests.fixtures.upstream.harness import LiveServer, free_port, leaked
from tests.fixtures.upstream.site import ARTICLES, PATHS, create_upstream

pytestmark = pytest.mark.browser

SHAPES = [1, 2, 3, 4, 5, 6, 9]


@pytest.fixture(scope="module")
def upstream() -> Iterator[LiveServer]:
    with LiveServer(create_upstream()) as server:
        yield server


@pytest.fixture
def gateway(upstream: LiveServer, tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start meterwall in proxy mode in front of the upstream, with policy overrides."""
    servers: list[LiveServer] = []

    def start(**policy: Any) -> LiveServer:
        port = free_port()
        folder = tmp_path / str(port)
        settings = make_settings(
            folder,
            auto_migrate=False,
            public_url=f"http://127.0.0.1:{port}",
            proxy={"upstream": upstream.url},
            policy=policy,
        )
        folder.mkdir()
        upgrade(settings.resolved_database_url)
        server = LiveServer(create_app(settings), port=port).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def _loopback_only(route: Any) -> None:
    """Keep the browser on this machine: AMP's CDN and any other outside host are refused."""
    host = urlsplit(route.request.url).hostname
    if host in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.abort()


def _open(chromium: Any, url: str, javascript: bool = True) -> tuple[Any, Any, list[str]]:
    context = chromium.new_context(java_script_enabled=javascript)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route("**/*", _loopback_only)
    page.goto(url, wait_until="load")
    return context, page, errors


@pytest.mark.parametrize("n", SHAPES)
def test_gated_pages_render_with_the_gate_and_without_the_body(
    chromium: Any, gateway: Callable[..., LiveServer], artifacts: Path, n: int
) -> None:
    server = gateway(anonymous_limit=0)
    context, page, errors = _open(chromium, server.url + PATHS[n])
    try:
        gate = page.locator(".mw-gate")
        assert gate.is_visible()
        assert "Unlimited digital access $11/month." in gate.inner_text()
        assert page.locator("h1").first.is_visible()
        assert f"LEDE-{n}" in page.inner_text("body")
        assert page.locator(".site-footer").is_visible()
        assert not leaked(page.content(), ARTICLES[n])
        box = gate.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100
        assert (
            page.evaluate("getComputedStyle(document.querySelector('.mw-button')).backgroundColor")
            == "rgb(11, 92, 173)"
        )
        if n == 1:
            page.screenshot(path=str(artifacts / "proxy-gated-wordpress.png"), full_page=True)
        assert not errors
    finally:
        context.close()


def test_without_javascript_the_gate_still_shows(
    chromium: Any, gateway: Callable[..., LiveServer]
) -> None:
    server = gateway(anonymous_limit=0)
    context, page, _ = _open(chromium, server.url + PATHS[3], javascript=False)
    try:
        assert page.locator(".mw-gate").is_visible()
        assert not leaked(page.content(), ARTICLES[3])
    finally:
        context.close()


def test_amp_version_renders_gated(chromium: Any, gateway: Callable[..., LiveServer]) -> None:
    server = gateway(anonymous_limit=0)
    context, page, _ = _open(chromium, server.url + PATHS[1] + "amp/")
    try:
        page.add_style_tag(content="body{visibility:visible!important}")
        assert page.locator(".mw-gate").is_visible()
        assert not leaked(page.content(), ARTICLES[1])
    finally:
        context.close()


def test_a_reader_within_the_meter_sees_the_story_and_the_banner(
    chromium: Any, gateway: Callable[..., LiveServer]
) -> None:
    server = gateway(anonymous_limit=5)
    context, page, _ = _open(chromium, server.url + PATHS[2])
    try:
        assert page.locator(".mw-banner").inner_text().startswith("1 of 5 stories this month")
        assert "SECRET-2-14" in page.inner_text("body")
        page.goto(server.url + PATHS[3])
        assert "2 of 5 stories this month" in page.locator(".mw-banner").inner_text()
    finally:
        context.close()


def test_the_snippet_shows_the_gate_from_the_api(
    chromium: Any, gateway: Callable[..., LiveServer]
) -> None:
    server = gateway(anonymous_limit=0)
    context, page, errors = _open(chromium, server.url + "/app/story")
    try:
        gate = page.locator("#story + .mw-gate")
        gate.wait_for(state="visible", timeout=10_000)
        assert "Subscribe to read this story." in gate.inner_text()
        assert page.locator(".mw-gate .mw-button").get_attribute("href") == "/subscribe"
        assert not errors
    finally:
        context.close()


def test_the_snippet_shows_the_banner_while_the_meter_allows(
    chromium: Any, gateway: Callable[..., LiveServer]
) -> None:
    server = gateway(anonymous_limit=5)
    context, page, _ = _open(chromium, server.url + "/app/story")
    try:
        banner = page.locator(".mw-banner")
        banner.wait_for(state="visible", timeout=10_000)
        assert banner.inner_text().startswith("1 of 5 stories this month")
        assert page.locator(".mw-gate").count() == 0
    finally:
        context.close()
