"""ATTACKS.md rows as they apply to the built-in site: each row is at least one test."""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import httpx
from starlette.applications import Starlette

from meterwall.identity.cookies import ReaderCookie, new_reader_id
from tests.conftest import standard_articles
from tests.factories import make_article
from tests.leaks import assert_full_text, assert_no_leak

ARTICLES = {a.slug: a for a in standard_articles()}
GATED = ARTICLES["story-6"]


def client_for(app: Starlette, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, **kwargs), base_url="http://testserver"
    )


async def use_allowance(client: httpx.AsyncClient) -> None:
    for n in range(1, 6):
        assert (await client.get(f"/articles/story-{n}")).status_code == 200


def is_gated(response: httpx.Response) -> bool:
    return "Subscribe to continue." in response.text


async def test_row1_new_cookie_jar_restarts_the_meter_but_never_exceeds_the_limit(
    app: Starlette,
) -> None:
    for _ in range(3):
        async with client_for(app) as fresh:
            full = [not is_gated(await fresh.get(f"/articles/story-{n}")) for n in range(1, 9)]
        assert full == [True] * 5 + [False] * 3


async def test_row2_nothing_is_counted_in_the_browser(client: httpx.AsyncClient) -> None:
    response = await client.get("/articles/story-1")
    scripts = re.findall(r"<script([^>]*)>", response.text)
    assert scripts == [' type="application/ld+json"']
    assert "localStorage" not in response.text and "sessionStorage" not in response.text


async def test_row4_forged_entitlement_cookies_get_the_teaser(client: httpx.AsyncClient) -> None:
    await use_allowance(client)
    reader = client.cookies["mw_reader"]
    for forged in (
        f"subscriber=true; mw_reader={reader}",
        f"mw_reader={reader}; entitled=1; paywall=off; isSubscriber=yes",
    ):
        client.cookies.clear()
        response = await client.get("/articles/story-6", headers={"cookie": forged})
        assert is_gated(response)
        assert_no_leak(response, GATED)


async def test_row4_hand_made_or_tampered_reader_cookie_is_a_new_reader(
    client: httpx.AsyncClient,
) -> None:
    await use_allowance(client)
    genuine = client.cookies["mw_reader"]
    forged_values = [
        genuine[:-3] + "abc",
        "A" * 22,
        ReaderCookie(["guessed-secret"]).sign(new_reader_id()),
        "\x00\xff" * 5,
        "x" * 5000,
    ]
    for value in forged_values:
        client.cookies.clear()
        header = f"mw_reader={value}".encode("latin-1")
        response = await client.get("/articles/story-6", headers={"cookie": header})
        assert response.status_code == 200
        # A new anonymous reader: first article of a fresh meter, and a new cookie.
        assert "1 of 5 stories this month" in response.text
        assert response.headers["set-cookie"].startswith("mw_reader=")


async def test_rows5_6_7_the_body_is_cut_on_the_server(client: httpx.AsyncClient) -> None:
    await use_allowance(client)
    response = await client.get("/articles/story-6")
    assert is_gated(response)
    assert_no_leak(response, GATED)
    # With scripts blocked or JavaScript off the offer still renders: it is plain HTML.
    assert "Unlimited digital access $11/month." in response.text
    assert "display:none" not in response.text.replace(" ", "")
    assert "hidden" not in re.sub(r'visually-hidden|aria-hidden="true"', "", response.text)


async def test_row8_gated_jsonld_carries_no_body_and_keeps_paywall_markup(
    client: httpx.AsyncClient,
) -> None:
    await use_allowance(client)
    response = await client.get("/articles/story-6")
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', response.text, re.S)
    assert len(blocks) == 1
    data = json.loads(blocks[0])
    assert "articleBody" not in data and "text" not in data
    assert data["isAccessibleForFree"] is False
    assert data["hasPart"]["isAccessibleForFree"] is False
    assert data["hasPart"]["cssSelector"] == ".mw-paywalled"


async def test_row8_entitled_jsonld_still_says_not_free(client: httpx.AsyncClient) -> None:
    response = await client.get("/articles/story-1")
    data = json.loads(
        re.findall(r'<script type="application/ld\+json">(.*?)</script>', response.text, re.S)[0]
    )
    assert data["isAccessibleForFree"] is False
    assert "SECRET-1-1" in data["articleBody"]


async def test_row9_no_hydration_state_noscript_or_template_copies(
    client: httpx.AsyncClient,
) -> None:
    await use_allowance(client)
    response = await client.get("/articles/story-6")
    for marker in ("__NEXT_DATA__", "__NUXT__", "__APOLLO_STATE__", "<noscript", "<template"):
        assert marker not in response.text
    assert_no_leak(response, GATED)


class _ElementText(HTMLParser):
    """Collects the text inside the first element with a given class."""

    def __init__(self, css_class: str) -> None:
        super().__init__()
        self.css_class = css_class
        self.depth = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self.depth:
            self.depth += 1
        elif self.css_class in classes:
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.text.append(data)


async def test_row10_the_paywalled_selector_holds_the_gate_only(
    client: httpx.AsyncClient,
) -> None:
    await use_allowance(client)
    response = await client.get("/articles/story-6")
    parser = _ElementText("mw-paywalled")
    parser.feed(response.text)
    inside = " ".join(" ".join(parser.text).split())
    assert "Subscribe to continue." in inside
    assert "SECRET" not in inside and "LEDE" not in inside


async def test_row11_googlebot_user_agent_alone_gets_the_teaser(client: httpx.AsyncClient) -> None:
    await use_allowance(client)
    ua = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    response = await client.get("/articles/story-6", headers={"user-agent": ua})
    assert is_gated(response)
    assert_no_leak(response, GATED)


async def test_row12_spoofed_forwarded_for_is_ignored(client: httpx.AsyncClient) -> None:
    await use_allowance(client)
    headers = {
        "user-agent": "Googlebot/2.1",
        "x-forwarded-for": "66.249.66.1",
        "forwarded": "for=66.249.66.1",
    }
    response = await client.get("/articles/story-6", headers=headers)
    assert is_gated(response)
    assert_no_leak(response, GATED)


async def test_row13_search_or_social_referer_does_not_open_the_gate(
    client: httpx.AsyncClient,
) -> None:
    await use_allowance(client)
    for referer in ("https://www.google.com/", "https://t.co/abc", "https://news.ycombinator.com"):
        response = await client.get("/articles/story-6", headers={"referer": referer})
        assert is_gated(response)
        assert_no_leak(response, GATED)


async def test_row14_the_meter_follows_the_cookie_not_the_ip(app: Starlette) -> None:
    async with client_for(app, client=("198.51.100.1", 1234)) as first:
        await use_allowance(first)
        cookie = first.cookies["mw_reader"]
    async with client_for(app, client=("203.0.113.9", 4321)) as moved:
        response = await moved.get("/articles/story-6", headers={"cookie": f"mw_reader={cookie}"})
    assert is_gated(response)


async def test_row15_amp_variants_are_gated_the_same(client: httpx.AsyncClient) -> None:
    await use_allowance(client)
    for path in ("/articles/story-6/amp", "/articles/story-6?outputType=amp"):
        response = await client.get(path)
        assert response.status_code == 200
        assert is_gated(response)
        assert_no_leak(response, GATED)
    canonical = await client.get("/articles/story-1")
    assert 'rel="amphtml" href="http://testserver/articles/story-1/amp"' in canonical.text


async def test_row16_url_variants_share_one_decision(client: httpx.AsyncClient) -> None:
    variants = [
        "/articles/story-1",
        "/articles/story-1?utm_source=x",
        "/articles/story-1/",
        "/articles/STORY-1",
        "/Articles/Story-1/?page=2",
        "/articles/story-1/amp",
        "/articles/story-1?outputType=amp",
    ]
    for path in variants:
        response = await client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        assert "1 of 5 stories this month" in response.text, path
    await use_allowance(client)
    for path in [
        v.replace("story-1", "story-6").replace("Story-1", "Story-6").replace("STORY-1", "STORY-6")
        for v in variants
    ]:
        response = await client.get(path, follow_redirects=True)
        assert is_gated(response), path
        assert_no_leak(response, GATED)


async def test_row16_redirects_do_not_count_and_point_to_the_canonical_path(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/ARTICLES/Story-1/?x=1")
    assert response.status_code == 301
    assert response.headers["location"] == "/articles/story-1"
    page = await client.get("/account/meter")
    assert "0 of 5" in page.text


async def test_row17_feeds_sitemaps_and_robots_carry_no_body(client: httpx.AsyncClient) -> None:
    for path in ("/feed.xml", "/sitemap.xml", "/robots.txt", "/"):
        response = await client.get(path)
        assert response.status_code == 200
        for article in ARTICLES.values():
            assert_no_leak(response, article)


async def test_row19_racing_the_last_free_read_grants_exactly_one(
    app_factory: Callable[..., Any],
) -> None:
    articles = [make_article(n) for n in range(1, 41)]
    app = await app_factory(articles=articles)
    async with client_for(app) as c:
        for n in range(1, 5):
            await c.get(f"/articles/story-{n}")
        responses = await asyncio.gather(*(c.get(f"/articles/story-{n}") for n in range(5, 41)))
        granted = [r for r in responses if not is_gated(r)]
        assert len(granted) == 1
        for response, n in zip(responses, range(5, 41), strict=True):
            if is_gated(response):
                assert_no_leak(response, articles[n - 1])
        page = await c.get("/account/meter")
    assert "5 of 5" in html.unescape(page.text)


async def test_subscriber_claims_in_headers_are_ignored(client: httpx.AsyncClient) -> None:
    await use_allowance(client)
    response = await client.get(
        "/articles/story-6",
        headers={"x-subscriber": "true", "authorization": "Bearer fake", "x-real-ip": "1.2.3.4"},
    )
    assert is_gated(response)
    assert_no_leak(response, GATED)
    assert_full_text(await client.get("/articles/story-1"), ARTICLES["story-1"])


async def test_row13_search_referrals_get_only_their_own_small_allowance(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(policy={"search_referral_allowance": 2})
    search = {"referer": "https://www.google.com/"}
    async with client_for(app) as c:
        await use_allowance(c)
        # A social or forged non-search referrer gets nothing extra.
        assert is_gated(await c.get("/articles/story-6", headers={"referer": "https://t.co/x"}))
        first = await c.get("/articles/story-6", headers=search)
        second = await c.get("/articles/story-7", headers=search)
        assert not is_gated(first) and not is_gated(second)
        assert_full_text(first, ARTICLES["story-6"])
        # Re-reading a referral article is free; a third article is not.
        assert not is_gated(await c.get("/articles/story-6", headers=search))
        third = await c.get("/articles/story-8", headers=search)
        assert is_gated(third)
        assert_no_leak(third, ARTICLES["story-8"])
        # Without the search referrer the allowance grants nothing.
        assert is_gated(await c.get("/articles/story-7"))
