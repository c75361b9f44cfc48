"""The upstream cache in proxy mode against a local upstream: what it keeps, for how long,
how it revalidates, and what a burst of readers costs the upstream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from tests.fixtures.cache_origin import ARTICLE, FRONT, Clock, Origin, cached_proxy
from tests.fixtures.upstream.harness import assert_full_text, assert_no_leak, reader
from tests.fixtures.upstream.site import ARTICLES

Factory = Callable[..., Any]


@pytest.fixture
def origin() -> Origin:
    return Origin()


@pytest.fixture
def cache_clock() -> Clock:
    return Clock(time.time())


async def read(app: Any, path: str, **kwargs: Any) -> httpx.Response:
    async with reader(app) as browser:
        return await browser.get(path, **kwargs)


async def test_a_fresh_copy_is_served_without_asking_the_upstream(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    origin.script(ARTICLE, headers={"Cache-Control": "public, max-age=300"})
    origin.script(FRONT, headers={"Cache-Control": "public, max-age=300"})
    app = await cached_proxy(app_factory, origin, cache_clock)
    for _ in range(3):
        article = await read(app, ARTICLE)
        front = await read(app, FRONT)
        assert_full_text(article, ARTICLES[1])
        assert "FRONT-V1" in front.text
        cache_clock.now += 10
    assert origin.hits[ARTICLE] == 1
    assert origin.hits[FRONT] == 1
    assert front.headers["age"] == "20", "a cached page passed through says how old it is"
    assert front.headers["cache-control"] == "public, max-age=300"


async def test_an_expired_copy_is_fetched_again(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    origin.script(ARTICLE, headers={"Cache-Control": "max-age=60"})
    app = await cached_proxy(app_factory, origin, cache_clock)
    await read(app, ARTICLE)
    cache_clock.now += 59
    await read(app, ARTICLE)
    assert origin.hits[ARTICLE] == 1
    origin.version = 2
    cache_clock.now += 2
    response = await read(app, ARTICLE)
    assert origin.hits[ARTICLE] == 2
    assert "VERSION-2" in response.text


async def test_pages_without_caching_headers_live_for_the_default_ttl(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    app = await cached_proxy(
        app_factory, origin, cache_clock, cache={"default_ttl": 30, "stale_while_revalidate": 0}
    )
    await read(app, ARTICLE)
    cache_clock.now += 29
    await read(app, ARTICLE)
    cache_clock.now += 2
    await read(app, ARTICLE)
    assert origin.hits[ARTICLE] == 2


@pytest.mark.parametrize(
    "validator",
    [{"ETag": '"v1"'}, {"Last-Modified": "Sun, 15 Nov 2026 12:00:00 GMT"}],
    ids=["etag", "last-modified"],
)
async def test_a_stale_copy_is_revalidated_with_a_conditional_request(
    app_factory: Factory, origin: Origin, cache_clock: Clock, validator: dict[str, str]
) -> None:
    origin.script(ARTICLE, headers={"Cache-Control": "max-age=60", **validator}, validate=True)
    app = await cached_proxy(app_factory, origin, cache_clock)
    await read(app, ARTICLE)
    cache_clock.now += 120
    origin.version = 2  # the upstream says "not modified", so the stored copy stays
    second = await read(app, ARTICLE)
    cache_clock.now += 30
    third = await read(app, ARTICLE)
    assert origin.hits[ARTICLE] == 2 and origin.not_modified[ARTICLE] == 1
    conditional = origin.seen[-1]
    assert conditional.get("if-none-match") == validator.get("ETag")
    assert conditional.get("if-modified-since") == validator.get("Last-Modified")
    for response in (second, third):
        assert_full_text(response, ARTICLES[1])
        assert "VERSION-1" in response.text
    assert origin.hits[ARTICLE] == 2, "the 304 made the copy fresh for another 60 s"


async def test_headers_a_304_brings_reach_every_reader_of_the_copy(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    # The clock stands still: only the copy's headers tell the two answers apart.
    headers = {"Cache-Control": "no-cache", "ETag": '"v1"', "X-Edition": "1"}
    article = origin.script(ARTICLE, headers=dict(headers), validate=True)
    front = origin.script(FRONT, headers=dict(headers), validate=True)
    app = await cached_proxy(app_factory, origin, cache_clock)
    before = [await read(app, ARTICLE), await read(app, FRONT)]
    article.headers["X-Edition"] = front.headers["X-Edition"] = "2"
    origin.version = 2  # "not modified": the stored bodies stay
    after = [await read(app, ARTICLE), await read(app, FRONT)]
    assert origin.not_modified[ARTICLE] == 1 and origin.not_modified[FRONT] == 1
    assert [r.headers["x-edition"] for r in before] == ["1", "1"]
    assert [r.headers["x-edition"] for r in after] == ["2", "2"]
    assert "VERSION-1" in after[0].text and "FRONT-V1" in after[1].text
    assert after[0].headers["cache-control"] == "private, no-store"
    assert after[1].headers["age"] == "0"


async def test_a_kept_page_too_large_to_read_is_refused_every_time(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    filler = "<html><body><p>" + "harbor " * 20_000 + "</p></body></html>"
    origin.script(FRONT, headers={"Cache-Control": "max-age=600"}, body=lambda _r: filler)
    app = await cached_proxy(app_factory, origin, cache_clock, proxy={"max_page_bytes": 65_536})
    for _ in range(2):
        response = await read(app, FRONT, headers={"Accept-Encoding": "identity"})
        assert response.status_code == 502
        assert "harbor harbor" not in response.text
    assert origin.hits[FRONT] == 1, "the copy is kept (it fits an entry), and refused from there"


@pytest.mark.parametrize(
    "headers",
    [
        {"Cache-Control": "no-store"},
        {"Cache-Control": "private, max-age=600"},
        {"Cache-Control": "max-age=600", "Set-Cookie": "x"},
    ],
    ids=["no-store", "private", "set-cookie"],
)
async def test_responses_that_must_not_be_shared_are_never_kept(
    app_factory: Factory, origin: Origin, cache_clock: Clock, headers: dict[str, str]
) -> None:
    origin.script(ARTICLE, headers=headers)
    origin.script(FRONT, headers=headers)
    app = await cached_proxy(app_factory, origin, cache_clock)
    for _ in range(2):
        await read(app, ARTICLE)
        await read(app, FRONT)
        cache_clock.now += 20  # past the few seconds a key goes straight upstream
    assert origin.hits[ARTICLE] == 2
    assert origin.hits[FRONT] == 2


async def test_a_cookie_the_upstream_sets_reaches_only_its_own_reader(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    origin.script(FRONT, headers={"Cache-Control": "max-age=600", "Set-Cookie": "x"})
    app = await cached_proxy(app_factory, origin, cache_clock)
    cookies = []
    for _ in range(3):
        response = await read(app, FRONT)
        cookies.append(response.headers["set-cookie"])
    assert len(set(cookies)) == 3


async def test_requests_with_a_login_cookie_bypass_the_cache_both_ways(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    def personal(request: Any) -> str:
        who = "admin" if "wordpress_logged_in" in request.headers.get("cookie", "") else "guest"
        return f"<html><body><p>HELLO-{who}</p></body></html>"

    origin.script(FRONT, headers={"Cache-Control": "public, max-age=600"}, body=personal)
    app = await cached_proxy(app_factory, origin, cache_clock)
    async with reader(app, cookies={"wordpress_logged_in_abc": "editor"}) as editor:
        assert "HELLO-admin" in (await editor.get(FRONT)).text
    assert "HELLO-guest" in (await read(app, FRONT)).text
    async with reader(app, cookies={"wordpress_logged_in_abc": "editor"}) as editor:
        assert "HELLO-admin" in (await editor.get(FRONT)).text
    async with reader(app, cookies={"_ga": "GA1.2.3"}) as tracked:
        assert "HELLO-guest" in (await tracked.get(FRONT)).text
    assert origin.hits[FRONT] == 3, "two editor requests and one filling the shared copy"
    assert all("cookie" not in seen for seen in origin.seen[1:2])


async def test_stale_if_error_serves_the_last_copy_while_the_upstream_is_down(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    origin.script(ARTICLE, headers={"Cache-Control": "max-age=10, stale-if-error=600"})
    app = await cached_proxy(app_factory, origin, cache_clock)
    await read(app, ARTICLE)
    origin.down = True
    cache_clock.now += 300
    response = await read(app, ARTICLE)
    assert response.status_code == 200
    assert_full_text(response, ARTICLES[1])
    cache_clock.now += 400
    gone = await read(app, ARTICLE)
    assert gone.status_code == 502
    assert "The site is not answering" in gone.text


async def test_stale_if_error_covers_upstream_server_errors(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    script = origin.script(ARTICLE, headers={"Cache-Control": "max-age=10, stale-if-error=600"})
    app = await cached_proxy(app_factory, origin, cache_clock)
    await read(app, ARTICLE)
    script.status = 503
    cache_clock.now += 60
    response = await read(app, ARTICLE)
    assert response.status_code == 200
    assert "VERSION-1" in response.text


async def test_must_revalidate_forbids_stale_copies(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    origin.script(FRONT, headers={"Cache-Control": "max-age=10, must-revalidate"})
    app = await cached_proxy(app_factory, origin, cache_clock)
    await read(app, FRONT)
    origin.down = True
    cache_clock.now += 60
    assert (await read(app, FRONT)).status_code == 502


async def test_stale_while_revalidate_answers_at_once_and_refreshes_in_the_background(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    origin.script(ARTICLE, headers={"Cache-Control": "max-age=10, stale-while-revalidate=60"})
    app = await cached_proxy(app_factory, origin, cache_clock)
    await read(app, ARTICLE)
    origin.version = 2
    cache_clock.now += 30
    stale = await read(app, ARTICLE)
    assert "VERSION-1" in stale.text, "the stale copy is served without waiting"
    await origin.until(lambda: origin.hits[ARTICLE] >= 2)
    await asyncio.sleep(0.05)  # the refreshed copy is stored just after the upstream answers
    fresh = await read(app, ARTICLE)
    assert "VERSION-2" in fresh.text
    assert origin.hits[ARTICLE] == 2


async def test_a_burst_of_100_readers_on_a_cold_article_costs_one_upstream_request(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    origin.script(ARTICLE, headers={"Cache-Control": "max-age=300"})
    app = await cached_proxy(app_factory, origin, cache_clock, policy={"anonymous_limit": 0})
    origin.hold()
    clients = [reader(app) for _ in range(100)]
    requests = [asyncio.create_task(c.get(ARTICLE)) for c in clients]
    await origin.until(lambda: origin.waiting >= 1)
    await asyncio.sleep(0.2)  # time for the other 99 requests to join the first one's fetch
    origin.release()
    responses = await asyncio.wait_for(asyncio.gather(*requests), 30)
    for client in clients:
        await client.aclose()
    assert origin.hits[ARTICLE] == 1
    assert all(r.status_code == 200 for r in responses)
    for response in responses:
        assert_no_leak(response, ARTICLES[1])
        assert "mw-gate" in response.text


async def test_a_burst_on_a_page_that_cannot_be_kept_is_not_shared(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    origin.script(FRONT, headers={"Cache-Control": "max-age=300", "Set-Cookie": "x"})
    app = await cached_proxy(app_factory, origin, cache_clock)
    origin.hold()
    clients = [reader(app) for _ in range(10)]
    requests = [asyncio.create_task(c.get(FRONT)) for c in clients]
    await asyncio.sleep(0.2)
    origin.release()
    responses = await asyncio.wait_for(asyncio.gather(*requests), 30)
    for client in clients:
        await client.aclose()
    cookies = [r.headers["set-cookie"] for r in responses]
    assert len(set(cookies)) == 10, "every reader got the cookie set for them, nobody else's"


async def test_least_recently_used_pages_leave_a_full_cache(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    filler = "<p>" + "harbor " * 28_000 + "</p>"  # about 200 kB per page

    def page(request: Any) -> str:
        return f"<html><body><h1>{request.url.path}</h1>{filler}</body></html>"

    paths = [f"/big/{n}" for n in range(6)]
    for path in paths:
        origin.script(path, headers={"Cache-Control": "max-age=600"}, body=page)
    app = await cached_proxy(app_factory, origin, cache_clock, cache={"max_bytes": 1024 * 1024})
    for path in paths:
        await read(app, path, headers={"Accept-Encoding": "identity"})
    store = app.state.gateway.cache.store
    assert store.size <= 1024 * 1024
    await read(app, paths[-1], headers={"Accept-Encoding": "identity"})
    await read(app, paths[0], headers={"Accept-Encoding": "identity"})
    assert origin.hits[paths[-1]] == 1, "the most recent page is still kept"
    assert origin.hits[paths[0]] == 2, "the oldest page was evicted"


async def test_pages_larger_than_an_entry_may_be_pass_through_whole(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    filler = "<p>" + "harbor " * 20_000 + "</p>"
    origin.script(FRONT, headers={"Cache-Control": "max-age=600"}, body=lambda _r: filler)
    app = await cached_proxy(app_factory, origin, cache_clock, cache={"max_entry_bytes": 65_536})
    first = await read(app, FRONT, headers={"Accept-Encoding": "identity"})
    cache_clock.now += 20
    await read(app, FRONT, headers={"Accept-Encoding": "identity"})
    assert first.text == filler
    assert origin.hits[FRONT] == 2


async def test_the_encoding_and_configured_vary_headers_keep_variants_apart(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    def by_language(request: Any) -> str:
        language = request.headers.get("accept-language", "none")
        return f"<html><body><p>LANG-{language}</p></body></html>"

    origin.script(FRONT, headers={"Cache-Control": "max-age=600"}, body=by_language)
    app = await cached_proxy(app_factory, origin, cache_clock, cache={"vary": ["Accept-Language"]})
    french = await read(app, FRONT, headers={"Accept-Language": "fr"})
    german = await read(app, FRONT, headers={"Accept-Language": "de"})
    french_again = await read(app, FRONT, headers={"Accept-Language": "fr"})
    plain = await read(app, FRONT, headers={"Accept-Language": "fr", "Accept-Encoding": "identity"})
    assert "LANG-fr" in french.text and "LANG-de" in german.text
    assert "LANG-fr" in french_again.text and "LANG-fr" in plain.text
    assert origin.hits[FRONT] == 3


async def test_an_upstream_vary_header_is_honoured(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    def by_agent(request: Any) -> str:
        return f"<html><body><p>UA-{request.headers.get('user-agent')}</p></body></html>"

    origin.script(
        FRONT, headers={"Cache-Control": "max-age=600", "Vary": "User-Agent"}, body=by_agent
    )
    app = await cached_proxy(app_factory, origin, cache_clock)
    phone = await read(app, FRONT, headers={"User-Agent": "phone"})
    desk = await read(app, FRONT, headers={"User-Agent": "desk"})
    assert "UA-phone" in phone.text and "UA-desk" in desk.text


async def test_tracking_parameters_share_the_article_copy(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    origin.script(ARTICLE, headers={"Cache-Control": "max-age=600"})
    app = await cached_proxy(app_factory, origin, cache_clock)
    await read(app, ARTICLE + "?utm_source=newsletter&fbclid=abc")
    await read(app, ARTICLE)
    assert origin.hits[ARTICLE] == 1
    assert "utm_source" not in str(origin.seen[0]), "the upstream is asked for the clean URL"


async def test_head_requests_are_answered_from_a_fresh_copy(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    origin.script(FRONT, headers={"Cache-Control": "max-age=600"})
    app = await cached_proxy(app_factory, origin, cache_clock)
    await read(app, FRONT)
    async with reader(app) as browser:
        head = await browser.head(FRONT)
    assert head.status_code == 200 and head.content == b""
    assert origin.hits[FRONT] == 1


async def test_a_successful_post_drops_the_copy_of_its_url(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    origin.script(FRONT, headers={"Cache-Control": "max-age=600"})
    origin.app.router.routes[0].methods = {"GET", "HEAD", "POST"}  # type: ignore[attr-defined]
    app = await cached_proxy(app_factory, origin, cache_clock)
    await read(app, FRONT)
    async with reader(app) as browser:
        await browser.post(FRONT, data={"comment": "hello"})
    await read(app, FRONT)
    assert origin.hits[FRONT] == 3


async def test_a_range_request_for_an_article_is_still_gated(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    origin.script(ARTICLE, headers={"Cache-Control": "max-age=600"})
    app = await cached_proxy(app_factory, origin, cache_clock, policy={"anonymous_limit": 0})
    await read(app, ARTICLE)
    response = await read(app, ARTICLE, headers={"Range": "bytes=2000-"})
    assert response.status_code == 200
    assert_no_leak(response, ARTICLES[1])
    assert origin.hits[ARTICLE] == 1


async def test_expires_and_date_set_the_lifetime(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    origin.script(
        FRONT,
        headers={
            "Date": formatdate(cache_clock.now, usegmt=True),
            "Expires": formatdate(cache_clock.now + 100, usegmt=True),
        },
    )
    app = await cached_proxy(app_factory, origin, cache_clock, cache={"stale_while_revalidate": 0})
    await read(app, FRONT)
    cache_clock.now += 90
    await read(app, FRONT)
    cache_clock.now += 20
    await read(app, FRONT)
    assert origin.hits[FRONT] == 2


async def test_cache_results_are_counted_in_the_metrics(
    app_factory: Factory, origin: Origin, cache_clock: Clock
) -> None:
    origin.script(ARTICLE, headers={"Cache-Control": "max-age=600"})
    app = await cached_proxy(app_factory, origin, cache_clock)
    for _ in range(3):
        await read(app, ARTICLE)
    async with reader(app, client=("127.0.0.1", 5000)) as scraper:  # metrics: loopback only
        metrics = (await scraper.get("/metrics")).text
    assert 'meterwall_upstream_cache_total{result="miss"} 1.0' in metrics
    assert 'meterwall_upstream_cache_total{result="hit"} 2.0' in metrics
