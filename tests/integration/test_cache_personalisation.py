"""Readers of different states, at the same time, on the same cached upstream copy.

Each gets their own variant: a licensed reader (a subscriber's entitlement)
the full text without a banner, a metered reader the full text with their
own count, a reader past the limit the teaser and the gate, a verified
crawler the full text with paywall markup and no cookie.  Nobody receives
another reader's banner, cookie or variant, and responses stay private.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from meterwall.identity.cookies import ReaderCookie
from tests.fixtures.cache_origin import PREMIUM, Clock, Origin, cached_proxy
from tests.fixtures.upstream.harness import (
    GOOGLEBOT_IP,
    GOOGLEBOT_UA,
    assert_full_text,
    assert_no_leak,
    reader,
    search_dns,
    use_resolver,
)
from tests.fixtures.upstream.site import ARTICLES, PATHS

LICENSED_IP = "203.0.113.9"
READER_COOKIE = ReaderCookie(["test-secret-key"])
STORIES = [PATHS[n] for n in (1, 2, 3, 4, 5)]


@dataclass
class Visitor:
    """One simulated browser and what it should receive."""

    name: str
    client: httpx.AsyncClient


def meter_count(text: str) -> int | None:
    found = re.search(r"(\d) of 3 stories this month", text)
    return int(found.group(1)) if found else None


@pytest.fixture
async def app(app_factory: Callable[..., Any]) -> Any:
    origin = Origin()
    for path in [*STORIES, PREMIUM]:
        origin.script(path, headers={"Cache-Control": "public, max-age=600"})
    app = await cached_proxy(
        app_factory,
        origin,
        Clock(time.time()),
        policy={"anonymous_limit": 3},
        group_licences={"cidrs": ["203.0.113.0/24"]},
    )
    use_resolver(app, search_dns())
    app.state.origin = origin
    return app


async def test_readers_of_every_state_get_their_own_variant_concurrently(app: Any) -> None:
    metered = [Visitor(f"metered-{i}", reader(app)) for i in range(6)]
    licensed = [
        Visitor(f"licensed-{i}", reader(app, client=(LICENSED_IP, 4000 + i))) for i in range(3)
    ]
    crawler = Visitor(
        "googlebot", reader(app, client=(GOOGLEBOT_IP, 5000), headers={"User-Agent": GOOGLEBOT_UA})
    )
    rng = random.Random(7)

    async def visit(visitor: Visitor, path: str) -> tuple[Visitor, str, httpx.Response]:
        await asyncio.sleep(rng.random() / 100)
        response = await visitor.client.get(path, headers={"Accept-Encoding": "gzip"})
        return visitor, path, response

    first_cookies: dict[str, str] = {}  # reader ids, from the cookies each reader was set
    for round_paths in ([STORIES[0]], STORIES[1:3], STORIES[3:]):
        jobs = []
        for visitor in [*metered, *licensed, crawler]:
            for path in round_paths:
                jobs.append(visit(visitor, path))
        results = await asyncio.gather(*jobs)
        for visitor, path, response in results:
            number = next(n for n, p in PATHS.items() if p == path)
            article = ARTICLES[number]
            assert response.status_code == 200
            assert response.headers["cache-control"] == "private, no-store"
            if visitor.name.startswith("metered"):
                reader_id = READER_COOKIE.verify(response.cookies.get("mw_reader"))
                if visitor.name in first_cookies:
                    assert reader_id in (None, first_cookies[visitor.name]), "another reader"
                else:
                    assert reader_id is not None
                    first_cookies[visitor.name] = reader_id
            check(visitor, response, article)
    for visitor in [*metered, *licensed, crawler]:
        await visitor.client.aclose()
    assert app.state.origin.hits[STORIES[0]] == 1, "one upstream fetch served every reader"


def check(visitor: Visitor, response: httpx.Response, article: Any) -> None:
    """What ``visitor`` must and must not see in ``response``."""
    text = response.text
    if visitor.name.startswith("licensed"):
        assert_full_text(response, article)
        assert meter_count(text) is None and "mw-gate" not in text
    elif visitor.name == "googlebot":
        assert_full_text(response, article)
        assert "set-cookie" not in response.headers
        assert '"isAccessibleForFree": false' in text or '"isAccessibleForFree":false' in text
    else:
        count = meter_count(text)
        if "mw-gate" in text:
            assert_no_leak(response, article)
            assert count is None
        else:
            assert_full_text(response, article)
            assert count is not None and 1 <= count <= 3


async def test_a_new_readers_cookie_stays_on_that_readers_response(app: Any) -> None:
    # The headers of a cached copy's pages are worked out once; a cookie set for one
    # reader must never join them.
    first, second = reader(app), reader(app)
    answers = [await first.get(STORIES[0]), await second.get(STORIES[0])]
    again = await first.get(STORIES[0])
    await first.aclose()
    await second.aclose()
    cookies = [r.headers.get_list("set-cookie") for r in answers]
    assert [len(c) for c in cookies] == [1, 1]
    ids = [READER_COOKIE.verify(r.cookies.get("mw_reader")) for r in answers]
    assert None not in ids and ids[0] != ids[1]
    assert "set-cookie" not in again.headers, "a returning reader is not set a cookie"
    assert app.state.origin.hits[STORIES[0]] == 1


async def test_each_reader_sees_their_own_count_on_the_same_cached_page(app: Any) -> None:
    origin = app.state.origin
    readers = [reader(app) for _ in range(8)]
    for index, browser in enumerate(readers):
        for path in STORIES[1 : 1 + index % 3]:
            await browser.get(path)
    expected = [1 + index % 3 for index in range(8)]
    responses = await asyncio.gather(*(browser.get(STORIES[0]) for browser in readers))
    for browser in readers:
        await browser.aclose()
    assert [meter_count(r.text) for r in responses] == expected
    assert origin.hits[STORIES[0]] == 1


async def test_a_reader_past_the_limit_gets_the_teaser_while_others_read_in_full(
    app: Any,
) -> None:
    spent = reader(app)
    for path in STORIES[1:4]:
        await spent.get(path)
    fresh = [reader(app) for _ in range(5)]
    for _ in range(3):
        gated, *full = await asyncio.gather(
            spent.get(STORIES[0]), *(browser.get(STORIES[0]) for browser in fresh)
        )
        assert_no_leak(gated, ARTICLES[1])
        assert "mw-gate" in gated.text
        for response in full:
            assert_full_text(response, ARTICLES[1])
            assert meter_count(response.text) == 1
    for browser in [spent, *fresh]:
        await browser.aclose()


async def test_premium_stories_are_gated_for_metered_readers_and_open_to_licensed_ones(
    app: Any,
) -> None:
    async with reader(app) as metered, reader(app, client=(LICENSED_IP, 4100)) as licensed:
        gated, full = await asyncio.gather(metered.get(PREMIUM), licensed.get(PREMIUM))
    assert_no_leak(gated, ARTICLES[8])
    assert "This story is for subscribers." in gated.text
    assert_full_text(full, ARTICLES[8])
    assert app.state.origin.hits[PREMIUM] == 1
