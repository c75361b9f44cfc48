"""Proxy mode end to end: the upstream site's articles gated, everything else passed through."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any, cast

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse

from meterwall.gateway.markup import article_objects
from tests.fixtures.upstream.harness import (
    UPSTREAM,
    assert_full_text,
    assert_no_leak,
    proxied,
    reader,
)
from tests.fixtures.upstream.site import ARTICLES, CSS, PATHS, PNG, PUBLIC, canonical

GATED = [1, 2, 3, 4, 5, 6, 8, 9]
SHAPES = {
    1: "wordpress",
    2: "ghost",
    3: "arc-nextjs",
    4: "nuxt-apollo",
    5: "static-jsonld-base64",
    6: "client-side-paywall",
    8: "premium",
    9: "old-cms-table",
}


@pytest.fixture
async def hard_paywall(app_factory: Callable[..., Any]) -> Any:
    """A proxy whose meter allows nothing: every metered article is gated."""
    return await proxied(app_factory, policy={"anonymous_limit": 0})


@pytest.fixture
async def metered(app_factory: Callable[..., Any]) -> Any:
    """A proxy with the reference meter: five free articles a month."""
    return await proxied(app_factory)


@pytest.mark.parametrize("n", GATED, ids=[SHAPES[n] for n in GATED])
async def test_every_cms_shape_is_gated_to_the_lede(hard_paywall: Any, n: int) -> None:
    async with reader(hard_paywall) as browser:
        response = await browser.get(PATHS[n])
    assert response.status_code == 200
    assert_no_leak(response, ARTICLES[n])
    assert f"LEDE-{n} The harbor master" in response.text
    assert "mw-gate" in response.text
    assert "Unlimited digital access $11/month." in response.text
    assert "FOOTER-MARK" in response.text, "the site's footer stays"
    assert 'class="logo"' in response.text, "the site's masthead stays"


@pytest.mark.parametrize("n", GATED, ids=[SHAPES[n] for n in GATED])
async def test_gated_pages_carry_paywall_markup(hard_paywall: Any, n: int) -> None:
    async with reader(hard_paywall) as browser:
        response = await browser.get(PATHS[n])
    tree = LexborHTMLParser(response.text)
    articles = article_objects(tree)
    assert articles
    for obj in articles:
        assert obj["isAccessibleForFree"] is False
        assert obj["hasPart"]["cssSelector"] == ".mw-paywalled"
    assert len(tree.css(".mw-paywalled")) == 1


async def test_a_reader_within_the_meter_gets_the_full_text_and_a_banner(metered: Any) -> None:
    async with reader(metered) as browser:
        response = await browser.get(PATHS[1])
    assert_full_text(response, ARTICLES[1])
    assert "1 of 5 stories this month" in response.text
    assert "mw-gate" not in response.text
    assert response.cookies.get("mw_reader")


async def test_the_meter_counts_and_then_gates(metered: Any) -> None:
    async with reader(metered) as browser:
        for n in (1, 2, 3, 4, 5):
            response = await browser.get(PATHS[n])
            assert f"{n} of 5 stories this month" in response.text
        response = await browser.get(PATHS[6])
    assert_no_leak(response, ARTICLES[6])
    assert "You&#39;ve read 5 of 5 free articles." in response.text


async def test_free_story_is_full_text_without_counting(hard_paywall: Any) -> None:
    async with reader(hard_paywall) as browser:
        response = await browser.get(PATHS[7])
    assert_full_text(response, ARTICLES[7])
    assert "mw-gate" not in response.text


async def test_premium_story_is_gated_even_with_meter_left(metered: Any) -> None:
    async with reader(metered) as browser:
        response = await browser.get(PATHS[8])
    assert_no_leak(response, ARTICLES[8])
    assert "This story is for subscribers." in response.text


async def test_article_responses_are_private_and_vary_by_cookie(metered: Any) -> None:
    async with reader(metered) as browser:
        response = await browser.get(PATHS[1])
    assert response.headers["cache-control"] == "private, no-store"
    assert "Cookie" in response.headers["vary"]
    assert "etag" not in response.headers
    assert response.headers["content-type"] == "text/html; charset=utf-8"


async def test_article_pages_are_compressed_for_clients_that_accept_gzip(metered: Any) -> None:
    async with reader(metered) as browser:
        raw = await browser.get(PATHS[1], headers={"Accept-Encoding": "gzip"})
        plain = await browser.get(PATHS[1], headers={"Accept-Encoding": "identity"})
    assert raw.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert "LEDE-1" in raw.text


async def test_front_page_passes_through_unchanged(hard_paywall: Any) -> None:
    async with reader(hard_paywall) as browser:
        response = await browser.get("/")
    assert "HOME-MARK" in response.text
    assert response.headers["cache-control"] == "public, max-age=60"
    assert "mw-gate" not in response.text
    assert "set-cookie" not in response.headers


async def test_assets_stream_through_with_their_encoding(hard_paywall: Any) -> None:
    async with reader(hard_paywall) as browser:
        css = await browser.get("/assets/site.css", headers={"Accept-Encoding": "gzip"})
        png = await browser.get("/assets/photo.png")
    assert css.headers["content-encoding"] == "gzip"
    assert css.text == CSS
    assert png.content == PNG
    assert png.headers["content-type"] == "image/png"


async def test_compressed_bytes_reach_the_client_as_the_upstream_sent_them(
    hard_paywall: Any,
) -> None:
    transport = httpx.ASGITransport(app=hard_paywall)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as raw_client:
        request = raw_client.build_request(
            "GET", "/assets/site.css", headers={"Accept-Encoding": "gzip"}
        )
        response = await raw_client.send(request, stream=True)
        body = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
    assert gzip.decompress(body).decode() == CSS


@pytest.mark.parametrize("cache", [False, True], ids=["uncached", "cached"])
async def test_redirects_to_the_upstream_point_at_the_public_site(
    app_factory: Callable[..., Any], cache: bool
) -> None:
    app = await proxied(app_factory, policy={"anonymous_limit": 0}, cache={"enabled": cache})
    async with reader(app) as browser:
        responses = [await browser.get("/redirect") for _ in range(2)]
    for response in responses:
        assert response.status_code == 301
        assert response.headers["location"] == PUBLIC + "/2026/11/harbor-gates/"
        assert UPSTREAM not in response.headers["location"]
        # A redirect's body is never shown: none is passed on (it could carry anything).
        assert response.content == b""
        assert "mw-gate" not in response.text


async def test_upstream_cookies_are_rebound_to_the_public_host(hard_paywall: Any) -> None:
    async with reader(hard_paywall) as browser:
        response = await browser.get("/login")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("wp_session=abc")
    assert "upstream.internal" not in cookie.lower()


async def test_forwarded_headers_come_from_meterwall_not_the_client(hard_paywall: Any) -> None:
    async with reader(hard_paywall) as browser:
        response = await browser.get(
            "/echo",
            headers={
                "X-Forwarded-For": "66.249.66.1",
                "Forwarded": "for=66.249.66.1",
                "Connection": "keep-alive, X-Secret",
                "X-Secret": "hop",
                "Cookie": "mw_reader=abc.def; theme=dark",
                "Accept-Encoding": "br, gzip",
            },
        )
    seen = response.json()["headers"]
    assert seen["x-forwarded-for"] == "198.51.100.7"
    assert "forwarded" not in seen
    assert "x-secret" not in seen
    assert seen["cookie"] == "theme=dark", "meterwall's own cookie stays with meterwall"
    assert seen["accept-encoding"] == "gzip"
    assert seen["host"] == "upstream.internal"
    assert seen["x-forwarded-host"] == "news.example"


async def test_form_posts_reach_the_upstream(hard_paywall: Any) -> None:
    async with reader(hard_paywall) as browser:
        response = await browser.post("/echo", data={"comment": "hello"})
    assert response.json()["method"] == "POST"
    assert response.json()["body"] == "comment=hello"


async def test_rss_items_are_cut_to_the_lede(hard_paywall: Any) -> None:
    async with reader(hard_paywall) as browser:
        response = await browser.get("/feed/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/rss+xml")
    for n, article in ARTICLES.items():
        assert_no_leak(response, article)
        assert f"LEDE-{n}" in response.text
        assert canonical(n) in response.text


async def test_atom_entries_are_cut_to_the_lede(hard_paywall: Any) -> None:
    async with reader(hard_paywall) as browser:
        response = await browser.get("/atom.xml")
    for n, article in ARTICLES.items():
        assert_no_leak(response, article)
        assert f"LEDE-{n}" in response.text


async def test_sitemap_passes_through(hard_paywall: Any) -> None:
    async with reader(hard_paywall) as browser:
        response = await browser.get("/sitemap.xml")
    assert canonical(1) in response.text


async def test_paths_a_publisher_blocks_answer_404(app_factory: Callable[..., Any]) -> None:
    app = await proxied(app_factory, proxy={"blocked_paths": [r"^/wp-json/", r"[?&]rest_route="]})
    async with reader(app) as browser:
        response = await browser.get("/wp-json/wp/v2/posts")
        query = await browser.get("/?rest_route=/wp/v2/posts")
    assert response.status_code == 404
    assert query.status_code == 404
    for article in ARTICLES.values():
        assert_no_leak(response, article)


async def test_meterwall_answers_its_own_paths(hard_paywall: Any) -> None:
    async with reader(hard_paywall) as browser:
        health = await browser.get("/healthz")
        css = await browser.get("/_meterwall/meterwall.css")
        script = await browser.get("/_meterwall/meterwall.js")
    assert health.text == "ok"
    assert "--mw-accent:#0b5cad" in css.text
    assert "/api/v1/access" in script.text


async def test_publisher_styles_reach_the_inserted_gate(app_factory: Callable[..., Any]) -> None:
    app = await proxied(
        app_factory,
        policy={"anonymous_limit": 0},
        proxy={"style": {"accent": "#c00000", "font_family": "Merriweather, serif"}},
        copy_text={"gate_heading_hard": "Members keep reading {site}."},
        site_name="The Example Ledger",
    )
    async with reader(app) as browser:
        page = await browser.get(PATHS[2])
        css = await browser.get("/_meterwall/meterwall.css")
    assert "Members keep reading The Example Ledger." in page.text
    assert "--mw-accent:#c00000" in css.text
    assert "--mw-font-family:Merriweather, serif" in css.text


async def test_a_hard_paywall_gate_does_not_count_reads(hard_paywall: Starlette) -> None:
    async with reader(hard_paywall) as browser:
        page = await browser.get(PATHS[1])
    assert "Subscribe to read this story." in page.text
    assert "0 of 0" not in page.text


async def test_configured_body_selector_and_patterns(app_factory: Callable[..., Any]) -> None:
    app = await proxied(
        app_factory,
        policy={"anonymous_limit": 0},
        proxy={"article_patterns": [r"^/nuxt/"], "body_selector": ".story__text"},
    )
    async with reader(app) as browser:
        nuxt = await browser.get(PATHS[4])
        wordpress = await browser.get(PATHS[1])
    assert_no_leak(nuxt, ARTICLES[4])
    assert 'class="story__text mw-paywalled"' in nuxt.text
    assert_full_text(wordpress, ARTICLES[1])


async def test_lede_by_word_count(app_factory: Callable[..., Any]) -> None:
    app = await proxied(app_factory, policy={"anonymous_limit": 0, "lede_words": 5})
    async with reader(app) as browser:
        response = await browser.get(PATHS[1])
    assert "LEDE-1 The harbor master …" in response.text
    assert "opened the gates" not in response.text


async def test_upstream_that_does_not_answer_gets_a_clear_page(
    app_factory: Callable[..., Any],
) -> None:
    app = await proxied(app_factory)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    app.state.gateway.upstream.client = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    async with reader(app) as browser:
        response = await browser.get(PATHS[1])
    assert response.status_code == 502
    assert "The site is not answering" in response.text


async def test_a_page_in_an_unreadable_encoding_is_never_passed_through(
    app_factory: Callable[..., Any],
) -> None:
    app = await proxied(app_factory)

    def brotli(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": "text/html", "content-encoding": "br"},
            stream=httpx.ByteStream(b"\x0b<p>SECRET</p>"),
        )

    app.state.gateway.upstream.client = httpx.AsyncClient(transport=httpx.MockTransport(brotli))
    async with reader(app) as browser:
        response = await browser.get(PATHS[1])
    assert response.status_code == 502


async def test_oversized_pages_are_refused_not_passed_through(
    app_factory: Callable[..., Any],
) -> None:
    app = await proxied(app_factory, proxy={"max_page_bytes": 65_536})

    def huge(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/html"}, stream=httpx.ByteStream(b"x" * 70_000)
        )

    app.state.gateway.upstream.client = httpx.AsyncClient(transport=httpx.MockTransport(huge))
    async with reader(app) as browser:
        response = await browser.get(PATHS[1])
    assert response.status_code == 502
    assert b"x" * 1000 not in response.content


async def test_legacy_charset_pages_are_read_and_served_as_utf8(
    app_factory: Callable[..., Any],
) -> None:
    app = await proxied(app_factory, policy={"anonymous_limit": 0})
    page = (
        '<html><head><meta charset="windows-1252"><meta property="og:type" content="article">'
        "</head><body><article><p>Caf\xe9 owners on the harbor front opened early on Monday "
        "morning to serve the fishing crews coming back from a long night out beyond the "
        "lighthouse.</p>"
        + "".join(
            f"<p>SECRET-99-{i} The na\xefve visitors paid in cash at the caf\xe9 counter.</p>"
            for i in range(6)
        )
        + "</article></body></html>"
    ).encode("cp1252")

    def legacy(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/html"}, stream=httpx.ByteStream(page)
        )

    app.state.gateway.upstream.client = httpx.AsyncClient(transport=httpx.MockTransport(legacy))
    async with reader(app) as browser:
        response = await browser.get("/legacy")
    assert "Café owners" in response.text
    assert "SECRET-99" not in response.text


# What reaches the upstream (raw path and query) for odd request targets, with and without
# the cache: tracking parameters leave the cached request; nothing else changes.
ODD_TARGETS = [
    ("/plain/story/?page=2", "/plain/story/", "page=2", "page=2"),
    ("/a%3Fb?x=1", "/a%3Fb", "x=1", "x=1"),
    ("/a%23b", "/a%23b", "", ""),
    ("/caf%C3%A9/%E2%82%AC", "/caf%C3%A9/%E2%82%AC", "", ""),
    ("/s?q=%C3%A9&utm_source=x", "/s", "q=%C3%A9&utm_source=x", "q=%C3%A9"),
    ("/sp%20ace?a=b%20c&gift=tok", "/sp%20ace", "a=b%20c&gift=tok", "a=b%20c"),
]


@pytest.mark.parametrize("cache", [False, True], ids=["no cache", "cache"])
@pytest.mark.parametrize(
    ("sent", "raw_path", "query", "cached_query"), ODD_TARGETS, ids=[t[0] for t in ODD_TARGETS]
)
async def test_odd_paths_reach_the_upstream_unchanged(
    app_factory: Callable[..., Any],
    cache: bool,
    sent: str,
    raw_path: str,
    query: str,
    cached_query: str,
) -> None:
    seen: list[tuple[bytes, bytes]] = []

    async def upstream(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope["raw_path"], scope["query_string"]))
        await PlainTextResponse("ok")(scope, receive, send)

    app = await proxied(app_factory, upstream=cast(Starlette, upstream), cache={"enabled": cache})
    async with reader(app) as browser:
        response = await browser.get(PUBLIC + sent)
    assert response.status_code == 200
    assert seen == [(raw_path.encode(), (cached_query if cache else query).encode())]


@pytest.mark.parametrize(
    ("sent", "status"),
    [("/a%2Fb", 400), ("/a%5Cb", 400), ("/a%00b", 400), ("//double/slash", 308), ("/%7Ea", 308)],
)
async def test_paths_spelled_otherwise_never_reach_the_upstream(
    app_factory: Callable[..., Any], sent: str, status: int
) -> None:
    seen: list[bytes] = []

    async def upstream(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["raw_path"])
        await PlainTextResponse("ok")(scope, receive, send)

    app = await proxied(app_factory, upstream=cast(Starlette, upstream))
    async with reader(app) as browser:
        response = await browser.get(PUBLIC + sent)
    assert response.status_code == status
    assert seen == []


async def test_a_query_that_is_not_utf8_is_redirected_to_its_escaped_form(
    app_factory: Callable[..., Any],
) -> None:
    app = await proxied(app_factory)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/story",
        "raw_path": b"/story",
        "query_string": b"q=\xff",
        "root_path": "",
        "headers": [(b"host", b"news.example")],
        "client": ("198.51.100.7", 5000),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 308
    assert (b"location", b"/story?q=%FF") in sent[0]["headers"]


@pytest.mark.parametrize("cache", [False, True], ids=["uncached", "cached"])
async def test_the_gate_offers_sign_in_back_to_this_story(
    app_factory: Callable[..., Any], cache: bool
) -> None:
    app = await proxied(app_factory, policy={"anonymous_limit": 0}, cache={"enabled": cache})
    async with reader(app) as browser:
        pages = [await browser.get(PATHS[n]) for n in (1, 2, 1)]
    for n, page in zip((1, 2, 1), pages, strict=True):
        gate = LexborHTMLParser(page.text).css_first("section.mw-gate")
        assert gate is not None
        assert "Already a subscriber?" in gate.text()
        links = [a.attributes.get("href") for a in gate.css("a")]
        assert f"/account/login?next={PATHS[n].split('?')[0]}" in links, links
