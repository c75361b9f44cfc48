"""Cached, gzip-spliced pages in real headless Chromium: they decode, render and stay personal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meterwall.app import create_app
from meterwall.storage.migrate import upgrade
from tests.factories import make_settings
from tests.fixtures.cache_origin import Origin
from tests.fixtures.upstream.harness import LiveServer, free_port, leaked
from tests.fixtures.upstream.site import ARTICLES, PATHS

pytestmark = pytest.mark.browser

STORIES = [PATHS[n] for n in (1, 2, 3, 5)]


@pytest.fixture
def origin() -> Iterator[tuple[Origin, LiveServer]]:
    origin = Origin()
    for path in STORIES:
        origin.script(path, headers={"Cache-Control": "public, max-age=600"})
    with LiveServer(origin.app) as server:
        yield origin, server


@pytest.fixture
def proxy(origin: tuple[Origin, LiveServer], tmp_path: Path) -> Iterator[LiveServer]:
    port = free_port()
    settings = make_settings(
        tmp_path,
        auto_migrate=False,
        public_url=f"http://127.0.0.1:{port}",
        proxy={"upstream": origin[1].url},
        policy={"anonymous_limit": 2},
        cache={"enabled": True},
    )
    upgrade(settings.resolved_database_url)
    with LiveServer(create_app(settings), port=port) as server:
        yield server


def test_two_browsers_read_the_same_cached_pages_each_with_their_own_meter(
    chromium: Any, origin: tuple[Origin, LiveServer], proxy: LiveServer, artifacts: Path
) -> None:
    upstream, _ = origin
    first, second = chromium.new_context(), chromium.new_context()
    try:
        reading, other = first.new_page(), second.new_page()
        encodings = []
        reading.on("response", lambda r: encodings.append(r.headers.get("content-encoding")))
        for used, path in enumerate(STORIES[:2], start=1):
            reading.goto(proxy.url + path, wait_until="load")
            assert reading.locator(".mw-banner").inner_text().startswith(f"{used} of 2")
            assert reading.locator(".mw-gate").count() == 0
            number = next(n for n, p in PATHS.items() if p == path)
            last = ARTICLES[number].body[-1].text
            assert last in reading.locator("body").inner_text()
        reading.goto(proxy.url + STORIES[2], wait_until="load")
        assert reading.locator(".mw-gate").is_visible()
        assert not leaked(reading.content(), ARTICLES[3])
        reading.screenshot(path=str(artifacts / "cache-gated.png"), full_page=True)
        other.goto(proxy.url + STORIES[2], wait_until="load")
        assert other.locator(".mw-banner").inner_text().startswith("1 of 2")
        assert other.locator(".mw-gate").count() == 0
        assert "gzip" in encodings, "Chromium decoded the spliced gzip pages"
    finally:
        first.close()
        second.close()
    assert upstream.hits[STORIES[2]] == 1, "both browsers were served one cached copy"
