"""Every representation of an article is the same read as its page, and fails closed.

Issue 11, rows 2 and 3: JSON, RSC flight payloads, ``text/plain``, XHR
fragments, print views, data routes and content APIs.  A reader who is not
entitled gets no gated text from any of them; a metered reader's data route
or RSC payload of an article is full text and the same single read as its
page; a subscriber gets everything; JSON without article text works for
every reader.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from meterwall.content.model import Article
from tests.fixtures.upstream.harness import UPSTREAM, proxied, reader
from tests.fixtures.upstream.site import (
    ARTICLES,
    BUILD_ID,
    LENGTH,
    PATHS,
    ROBOTS,
    create_upstream,
    plain_body,
)
from tests.leaks import assert_no_leak

LICENSED = ("203.0.113.9", 4000)
"""A reader inside the group licence: entitled to everything."""

ARC = PATHS[3]
WP = PATHS[1]
NEXT_DATA = f"/_next/data/{BUILD_ID}{ARC.rstrip('/')}.json"

# (id, path, headers, story): a representation of one article.
REPRESENTATIONS = [
    ("next-data-route", NEXT_DATA, {}, 3),
    ("rsc-header", ARC, {"RSC": "1"}, 3),
    ("rsc-query", ARC + "?_rsc=1x2y3", {}, 3),
    ("format-json", WP + "?format=json", {}, 1),
    ("format-txt", WP + "?format=txt", {}, 1),
    ("accept-json", WP, {"Accept": "application/json"}, 1),
    ("accept-text", WP, {"Accept": "text/plain"}, 1),
    ("xhr-fragment", WP, {"X-Requested-With": "XMLHttpRequest"}, 1),
    ("print-view", WP + "?print=1", {}, 1),
]
IDS = [r[0] for r in REPRESENTATIONS]

# (id, method, path, data): content APIs that list whole posts, mapping to no one article.
LISTINGS = [
    ("wp-rest", "GET", "/wp-json/wp/v2/posts", None),
    ("wp-rest-one", "GET", "/wp-json/wp/v2/posts/2", None),
    ("wp-rest-route", "GET", "/?rest_route=/wp/v2/posts", None),
    ("wp-rest-route-post", "POST", "/", {"rest_route": "/wp/v2/posts"}),
    ("ghost-content", "GET", "/ghost/api/content/posts/?key=k", None),
    ("drupal-jsonapi", "GET", "/jsonapi/node/article", None),
    ("unknown-shape", "GET", "/api/stories.json", None),
]
LISTING_IDS = [r[0] for r in LISTINGS]

# (id, method, path, headers, data): the WordPress REST API asked for however PHP reads it.
REST_FORMS = [
    ("rest.route", "GET", "/?rest.route=/wp/v2/posts", {}, None),
    ("rest%5Froute", "GET", "/?rest%5Froute=/wp/v2/posts", {}, None),
    ("%72est_route", "GET", "/?%72est_route=/wp/v2/posts", {}, None),
    ("rest+route", "GET", "/?rest+route=/wp/v2/posts", {}, None),
    ("rest%20route", "GET", "/?rest%20route=/wp/v2/posts", {}, None),
    ("rest[route", "GET", "/?rest[route=/wp/v2/posts", {}, None),
    ("index.php", "GET", "/index.php/wp-json/wp/v2/posts", {}, None),
    ("index.php-query", "GET", "/index.php?rest_route=/wp/v2/posts", {}, None),
    ("post-method-get", "POST", "/?_method=GET", {}, {"rest_route": "/wp/v2/posts"}),
    (
        "post-override",
        "POST",
        "/",
        {"X-HTTP-Method-Override": "GET"},
        {"rest_route": "/wp/v2/posts"},
    ),
]

# (id, method, path, data): JSON without article text: the site's own features.
NO_PROSE = [
    ("contact-form-7", "POST", "/wp-json/contact-form-7/v1/contact-forms/5/feedback", {"a": "b"}),
    ("woocommerce-cart", "GET", "/wp-json/wc/store/v1/cart", None),
    ("ghost-title-search", "GET", "/ghost/api/content/posts/?key=k&fields=title,url", None),
    ("next-data-front", "GET", f"/_next/data/{BUILD_ID}/index.json", None),
]
NO_PROSE_IDS = [r[0] for r in NO_PROSE]


def has_full_text(response: httpx.Response, n: int) -> bool:
    """Whether the response carries story ``n``'s last gated paragraph."""
    return f"SECRET-{n}-{LENGTH}" in response.text


def assert_nothing_gated(response: httpx.Response, articles: list[Article]) -> None:
    assert response.status_code < 500, response.text[:300]
    for article in articles:
        assert_no_leak(response, article)


async def _send(client: httpx.AsyncClient, method: str, path: str, data: Any) -> httpx.Response:
    if method == "POST":
        return await client.post(path, data=data)
    return await client.get(path)


@pytest.fixture
async def hard(app_factory: Callable[..., Any]) -> Starlette:
    """A hard paywall (no free reads), with a group licence for LICENSED."""
    return await proxied(
        app_factory,
        policy={"anonymous_limit": 0},
        group_licences={"cidrs": ["203.0.113.0/24"]},
    )


@pytest.fixture
async def one_free(app_factory: Callable[..., Any]) -> Starlette:
    """A meter of one free article a month."""
    return await proxied(app_factory, policy={"anonymous_limit": 1})


@pytest.mark.parametrize(("name", "path", "headers", "n"), REPRESENTATIONS, ids=IDS)
async def test_a_gated_reader_gets_no_gated_text_from_any_representation(
    hard: Starlette, name: str, path: str, headers: dict[str, str], n: int
) -> None:
    async with reader(hard) as browser:
        response = await browser.get(path, headers=headers)
    assert_nothing_gated(response, [ARTICLES[n]])


@pytest.mark.parametrize(("name", "path", "headers", "n"), REPRESENTATIONS, ids=IDS)
async def test_a_subscriber_gets_every_representation_whole(
    hard: Starlette, name: str, path: str, headers: dict[str, str], n: int
) -> None:
    async with reader(hard, client=LICENSED) as browser:
        response = await browser.get(path, headers=headers)
    assert response.status_code == 200
    assert has_full_text(response, n)
    assert "no-store" in response.headers["cache-control"], "a per-reader answer is private"


@pytest.mark.parametrize(("name", "path", "headers", "n"), REPRESENTATIONS, ids=IDS)
async def test_a_representation_and_its_page_are_one_read(
    one_free: Starlette, name: str, path: str, headers: dict[str, str], n: int
) -> None:
    other = 2 if n != 2 else 1
    async with reader(one_free) as browser:
        first = await browser.get(path, headers=headers)
        next_article = await browser.get(PATHS[other])
        page = await browser.get(PATHS[n])
        again = await browser.get(path, headers=headers)
    assert first.status_code == 200
    assert has_full_text(first, n), "the free read shows the representation whole"
    assert "mw-gate" in next_article.text, "the representation spent the one free read"
    assert_no_leak(next_article, ARTICLES[other])
    assert has_full_text(page, n), "the page is the same read: still free"
    assert has_full_text(again, n), "re-reads are free"


async def test_with_the_upstream_cache_on_representations_are_still_cut_and_one_read(
    app_factory: Callable[..., Any],
) -> None:
    gated = await proxied(app_factory, policy={"anonymous_limit": 0}, cache={"enabled": True})
    metered = await proxied(app_factory, policy={"anonymous_limit": 1}, cache={"enabled": True})
    for _name, path, headers, n in REPRESENTATIONS:
        async with reader(gated) as browser:
            for _ in range(2):
                assert_nothing_gated(await browser.get(path, headers=headers), [ARTICLES[n]])
                assert_nothing_gated(await browser.get(PATHS[n]), [ARTICLES[n]])
        async with reader(metered) as browser:
            assert has_full_text(await browser.get(PATHS[n]), n)
            assert has_full_text(await browser.get(path, headers=headers), n)
            assert has_full_text(await browser.get(path, headers=headers), n)
            other = 2 if n != 2 else 1
            assert "mw-gate" in (await browser.get(PATHS[other])).text


async def test_a_metered_readers_client_side_navigation_is_one_read_per_article(
    one_free: Starlette,
) -> None:
    async with reader(one_free) as browser:
        rsc = await browser.get(ARC, headers={"RSC": "1"})
        data = await browser.get(NEXT_DATA)
        page = await browser.get(ARC)
        other = await browser.get(PATHS[2], headers={"RSC": "1"})
        other_page = await browser.get(PATHS[2])
    assert rsc.headers["content-type"].startswith("text/x-component")
    assert has_full_text(rsc, 3)
    assert has_full_text(data, 3)
    assert has_full_text(page, 3)
    assert other.status_code == 403, "the second article is past the meter"
    assert "mw-gate" in other_page.text


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (NEXT_DATA, {"Purpose": "prefetch"}),
        (NEXT_DATA, {"X-Middleware-Prefetch": "1"}),
        (ARC, {"RSC": "1", "Next-Router-Prefetch": "1"}),
        (ARC, {"RSC": "1", "Sec-Purpose": "prefetch"}),
        (PATHS[3], {"Sec-Purpose": "prefetch"}),
        (PATHS[3], {"RSC": "1", "Next-Router-Prefetch": "1"}),
    ],
    ids=[
        "data-purpose",
        "data-middleware",
        "rsc-router",
        "rsc-sec-purpose",
        "html-speculation-rules",
        "html-answer-to-an-rsc-prefetch",
    ],
)
async def test_a_prefetch_spends_no_meter_read(
    one_free: Starlette, path: str, headers: dict[str, str]
) -> None:
    async with reader(one_free) as browser:
        prefetched = await browser.get(path, headers=headers)
        other = await browser.get(PATHS[2])
    assert_no_leak(prefetched, ARTICLES[3])
    assert has_full_text(other, 2), "the prefetch did not use up the free read"


async def test_a_gated_rsc_request_is_refused_so_nextjs_loads_the_gated_page(
    hard: Starlette,
) -> None:
    async with reader(hard) as browser:
        rsc = await browser.get(ARC, headers={"RSC": "1"})
        data = await browser.get(NEXT_DATA)
    # Next.js falls back to a full page load when an RSC answer is not a 2xx flight payload,
    # and the pages router does the same when a data route fails.
    assert rsc.status_code == 403
    assert not rsc.headers["content-type"].startswith("text/x-component")
    assert data.status_code == 403


async def test_a_gated_print_view_without_article_markup_shows_the_gate(hard: Starlette) -> None:
    async with reader(hard) as browser:
        response = await browser.get(WP + "?print=1")
    assert response.status_code == 200
    assert "mw-gate" in response.text
    assert "LEDE-1" in response.text
    assert_no_leak(response, ARTICLES[1])


async def test_a_gated_text_representation_keeps_its_lede(hard: Starlette) -> None:
    async with reader(hard) as browser:
        text = await browser.get(WP + "?format=txt")
        fragment = await browser.get(WP, headers={"X-Requested-With": "XMLHttpRequest"})
        data = await browser.get(WP + "?format=json")
    for response in (text, fragment, data):
        assert response.status_code in (200, 403)
        assert_no_leak(response, ARTICLES[1])
    assert "LEDE-1" in text.text
    assert "LEDE-1" in fragment.text


@pytest.mark.parametrize(("name", "method", "path", "data"), LISTINGS, ids=LISTING_IDS)
async def test_content_apis_are_cut_for_a_gated_reader(
    hard: Starlette, name: str, method: str, path: str, data: Any
) -> None:
    async with reader(hard) as browser:
        response = await _send(browser, method, path, data)
    assert_nothing_gated(response, list(ARTICLES.values()))
    if name == "unknown-shape":
        assert response.status_code == 403
        assert response.json()["error"] == "subscription_required"
    else:
        assert response.status_code == 200, "known shapes are cut, not blocked"
        assert "LEDE-" in response.text


@pytest.mark.parametrize(
    ("name", "method", "path", "headers", "data"), REST_FORMS, ids=[r[0] for r in REST_FORMS]
)
async def test_the_rest_api_asked_for_any_way_gives_a_gated_reader_no_gated_text(
    hard: Starlette,
    name: str,
    method: str,
    path: str,
    headers: dict[str, str],
    data: Any,
) -> None:
    async with reader(hard) as browser:
        response = await browser.request(method, path, headers=headers, data=data)
    assert_nothing_gated(response, list(ARTICLES.values()))


@pytest.mark.parametrize(("name", "method", "path", "data"), LISTINGS, ids=LISTING_IDS)
async def test_content_apis_are_whole_for_a_subscriber(
    hard: Starlette, name: str, method: str, path: str, data: Any
) -> None:
    async with reader(hard, client=LICENSED) as browser:
        response = await _send(browser, method, path, data)
    assert response.status_code == 200
    n = 2 if name == "wp-rest-one" else 1
    assert has_full_text(response, n)
    assert "no-store" in response.headers["cache-control"]


async def test_content_apis_are_cut_for_a_metered_reader_too(one_free: Starlette) -> None:
    async with reader(one_free) as browser:
        response = await browser.get("/wp-json/wp/v2/posts")
        page = await browser.get(PATHS[1])
    assert response.status_code == 200
    assert "LEDE-1" in response.text
    assert_nothing_gated(response, list(ARTICLES.values()))
    assert has_full_text(page, 1), "reading an API spends no meter read"


@pytest.mark.parametrize(("name", "method", "path", "data"), NO_PROSE, ids=NO_PROSE_IDS)
async def test_json_without_article_text_passes_unchanged_for_a_gated_reader(
    hard: Starlette, name: str, method: str, path: str, data: Any
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_upstream()), base_url=UPSTREAM
    ) as origin:
        expected = await _send(origin, method, path, data)
    async with reader(hard) as browser:
        response = await _send(browser, method, path, data)
    assert response.status_code == expected.status_code == 200
    assert response.json() == expected.json()


async def test_robots_txt_with_prose_comments_reaches_every_crawler(hard: Starlette) -> None:
    async with reader(hard, headers={"User-Agent": "SomeBot/1.0"}) as bot:
        response = await bot.get("/robots.txt")
    assert response.status_code == 200
    assert response.text == ROBOTS


async def test_a_json_feed_is_never_sent_whole_to_a_gated_reader(hard: Starlette) -> None:
    async with reader(hard) as browser:
        response = await browser.get("/feed.json")
    assert_nothing_gated(response, list(ARTICLES.values()))


async def test_a_path_the_publisher_opens_is_passed_whole(app_factory: Callable[..., Any]) -> None:
    app = await proxied(
        app_factory,
        policy={"anonymous_limit": 0},
        proxy={"allow_paths": [r"^/api/stories\.json$", r"^/wp-json/wp/v2/posts$"]},
    )
    async with reader(app) as browser:
        opened = await browser.get("/api/stories.json")
        rest = await browser.get("/wp-json/wp/v2/posts")
        closed = await browser.get("/ghost/api/content/posts/")
    assert plain_body(ARTICLES[1]) in opened.json()["stories"][0]["text"]
    assert has_full_text(rest, 1)
    assert_nothing_gated(closed, list(ARTICLES.values()))


def _odd_upstream(status: int, headers: dict[str, str], body: bytes) -> Starlette:
    async def answer(_request: Request) -> Response:
        return Response(body, status_code=status, headers=headers)

    return Starlette(routes=[Route("/{path:path}", answer)])


PROSE_JSON = json.dumps({"text": plain_body(ARTICLES[1])}).encode()


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (206, {"content-type": "application/json", "content-range": "bytes 0-99/999"}),
        (200, {"content-type": "application/json", "content-encoding": "br"}),
        (200, {"content-type": "text/plain", "content-encoding": "zstd"}),
    ],
    ids=["range", "undecodable-json", "undecodable-text"],
)
async def test_answers_that_cannot_be_read_whole_are_refused(
    app_factory: Callable[..., Any], status: int, headers: dict[str, str]
) -> None:
    app = await proxied(
        app_factory, _odd_upstream(status, headers, PROSE_JSON), policy={"anonymous_limit": 0}
    )
    async with reader(app) as browser:
        response = await browser.get("/api/anything", headers={"Range": "bytes=0-99"})
    assert response.status_code >= 400
    assert_no_leak(response, ARTICLES[1])
