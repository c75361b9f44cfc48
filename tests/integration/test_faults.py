"""Stores down or hung, seen by a reader through the ASGI app: a page, never a 500.

The meter's ``meter_failure`` setting decides what a metered story shows while
Redis is unreachable (``open``: the full text with a notice, uncounted;
``closed``: the teaser); a database that is unreachable gives a calm 503 page.
Either way the site carries on by itself once the store is back.
"""

from __future__ import annotations

import html
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from tests.backends import delete_redis_prefix
from tests.conftest import standard_articles
from tests.leaks import assert_full_text, assert_no_leak
from tests.tcpfault import FaultProxy, Mode

ARTICLES = {a.slug: a for a in standard_articles()}
PROMPT = 2.0
"""Seconds within which a page must arrive although a store does not answer."""
NOTICE = "our meter is briefly unavailable"


def client_for(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def banner(response: httpx.Response) -> str | None:
    match = re.search(r'<span class="meter-count">([^<]*)</span>', response.text)
    return html.unescape(match.group(1)) if match else None


async def timed_get(client: httpx.AsyncClient, path: str) -> httpx.Response:
    started = time.monotonic()
    response = await client.get(path)
    assert time.monotonic() - started < PROMPT, f"{path} took too long"
    return response


@pytest.fixture
async def redis_proxy(
    request: pytest.FixtureRequest, redis_url: str
) -> AsyncIterator[tuple[FaultProxy, dict[str, Any]]]:
    """A fault proxy in front of Redis, and settings putting the meter behind it."""
    url = make_url(redis_url)
    proxy = FaultProxy(url.host or "127.0.0.1", url.port or 6379).start()
    prefix = f"mwfault:{uuid.uuid4().hex[:10]}:"
    request.addfinalizer(lambda: delete_redis_prefix(redis_url, prefix))
    yield (
        proxy,
        {
            "meter_store": "redis",
            "redis_url": str(url.set(host="127.0.0.1", port=proxy.port)),
            "redis_key_prefix": prefix,
            "store_timeout_ms": 400,
        },
    )
    proxy.stop()


@pytest.fixture
async def postgres_proxy(postgres_url: str) -> AsyncIterator[tuple[FaultProxy, dict[str, Any]]]:
    """A fault proxy in front of PostgreSQL, and settings putting the database behind it."""
    url = make_url(postgres_url)
    proxy = FaultProxy(url.host or "127.0.0.1", url.port or 5432).start()
    yield (
        proxy,
        {
            "database_url": url.set(host="127.0.0.1", port=proxy.port).render_as_string(
                hide_password=False
            ),
            "database_timeout_ms": 500,
            "store_timeout_ms": 400,
        },
    )
    proxy.stop()


@pytest.mark.parametrize("mode", ["down", "hang"])
async def test_fail_closed_shows_the_teaser_while_redis_is_out_then_counts_again(
    app_factory: Callable[..., Any], redis_proxy: tuple[FaultProxy, dict[str, Any]], mode: Mode
) -> None:
    proxy, settings = redis_proxy
    app = await app_factory(meter_failure="closed", **settings)
    async with client_for(app) as client:
        first = await timed_get(client, "/articles/story-1")
        assert banner(first) == "1 of 5 stories this month"
        proxy.set_mode(mode)
        for n in (2, 3):
            response = await timed_get(client, f"/articles/story-{n}")
            assert response.status_code == 200
            assert_no_leak(response, ARTICLES[f"story-{n}"])
            assert "Subscribe" in response.text
        free = await timed_get(client, "/articles/story-9")
        assert_full_text(free, ARTICLES["story-9"])
        proxy.set_mode("forward")
        back = await timed_get(client, "/articles/story-4")
        assert back.status_code == 200
        assert banner(back) == "2 of 5 stories this month"
        assert_full_text(back, ARTICLES["story-4"])


@pytest.mark.parametrize("mode", ["down", "hang"])
async def test_fail_open_shows_the_story_uncounted_with_a_notice(
    app_factory: Callable[..., Any], redis_proxy: tuple[FaultProxy, dict[str, Any]], mode: Mode
) -> None:
    proxy, settings = redis_proxy
    app = await app_factory(meter_failure="open", **settings)
    async with client_for(app) as client:
        await timed_get(client, "/articles/story-1")
        proxy.set_mode(mode)
        response = await timed_get(client, "/articles/story-2")
        assert response.status_code == 200
        assert_full_text(response, ARTICLES["story-2"])
        assert NOTICE in response.text
        assert banner(response) is None
        proxy.set_mode("forward")
        back = await timed_get(client, "/articles/story-3")
        assert banner(back) == "2 of 5 stories this month"
        assert NOTICE not in back.text


async def test_the_meter_page_says_temporarily_unavailable_while_redis_is_down(
    app_factory: Callable[..., Any], redis_proxy: tuple[FaultProxy, dict[str, Any]]
) -> None:
    proxy, settings = redis_proxy
    app = await app_factory(**settings)
    async with client_for(app) as client:
        await timed_get(client, "/articles/story-1")
        proxy.set_mode("down")
        response = await timed_get(client, "/account/meter")
        assert response.status_code == 503
        assert "Temporarily unavailable" in response.text
        assert response.headers["retry-after"] == "5"
        proxy.set_mode("forward")
        assert (await timed_get(client, "/account/meter")).status_code == 200


@pytest.mark.parametrize("mode", ["down", "hang"])
async def test_an_unreachable_database_gives_a_503_page_then_the_site_comes_back(
    app_factory: Callable[..., Any],
    postgres_proxy: tuple[FaultProxy, dict[str, Any]],
    mode: Mode,
) -> None:
    proxy, settings = postgres_proxy
    app = await app_factory(**settings)
    async with client_for(app) as client:
        assert (await timed_get(client, "/articles/story-1")).status_code == 200
        proxy.set_mode(mode)
        for path in ("/articles/story-2", "/", "/account/meter"):
            response = await timed_get(client, path)
            assert response.status_code == 503, path
            assert "Temporarily unavailable" in response.text
            assert "Traceback" not in response.text
            assert_no_leak(response, ARTICLES["story-2"])
        api = await client.get("/articles/story-2", headers={"accept": "application/json"})
        assert api.status_code == 503
        assert api.json()["error"] == "Temporarily unavailable"
        proxy.set_mode("forward")
        back = await timed_get(client, "/articles/story-2")
        assert back.status_code == 200
        assert banner(back) == "2 of 5 stories this month"
