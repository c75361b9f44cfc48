"""The built-in news site through its ASGI app: what a reader sees as the meter runs."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from starlette.applications import Starlette

from tests.conftest import Clock, standard_articles
from tests.factories import LEDE, make_article
from tests.leaks import assert_full_text, assert_no_leak

ARTICLES = {a.slug: a for a in standard_articles()}


def client_for(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def banner(response: httpx.Response) -> str | None:
    match = re.search(r'<span class="meter-count">([^<]*)</span>', response.text)
    return html.unescape(match.group(1)) if match else None


async def test_home_links_every_article(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    for slug, article in ARTICLES.items():
        assert f'href="/articles/{slug}"' in response.text
        assert html.escape(article.headline) in response.text


async def test_banner_counts_one_to_five_then_the_gate(client: httpx.AsyncClient) -> None:
    for n in range(1, 6):
        response = await client.get(f"/articles/story-{n}")
        assert response.status_code == 200
        assert banner(response) == f"{n} of 5 stories this month"
        assert "Get unlimited stories" in response.text
        assert_full_text(response, ARTICLES[f"story-{n}"])
    gated = await client.get("/articles/story-6")
    assert gated.status_code == 200
    text = html.unescape(gated.text)
    assert "You've read 5 of 5 free articles." in text
    assert "Subscribe to continue." in text
    assert "Unlimited digital access $11/month." in text
    assert 'href="/subscribe"' in gated.text
    assert banner(gated) is None
    assert_no_leak(gated, ARTICLES["story-6"])
    # The teaser: headline, dek, image with credit and caption, and the lede.
    article = ARTICLES["story-6"]
    assert article.headline in text and article.dek in text
    assert article.image is not None and article.image.caption in text
    assert article.image.credit in text
    assert LEDE.format(n=6) in text


async def test_rereading_an_article_never_costs_a_second_read(client: httpx.AsyncClient) -> None:
    for _ in range(4):
        response = await client.get("/articles/story-1")
        assert banner(response) == "1 of 5 stories this month"
    for n in range(2, 6):
        await client.get(f"/articles/story-{n}")
    again = await client.get("/articles/story-1")
    assert banner(again) == "5 of 5 stories this month"
    assert_full_text(again, ARTICLES["story-1"])


async def test_free_and_exempt_articles_skip_the_meter(client: httpx.AsyncClient) -> None:
    for slug in ("story-9", "story-11"):
        response = await client.get(f"/articles/{slug}")
        assert banner(response) is None
        assert_full_text(response, ARTICLES[slug])
    first_metered = await client.get("/articles/story-1")
    assert banner(first_metered) == "1 of 5 stories this month"


async def test_premium_is_gated_from_the_first_read_without_using_the_meter(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/articles/story-10")
    assert "This story is for subscribers." in response.text
    assert_no_leak(response, ARTICLES["story-10"])
    first_metered = await client.get("/articles/story-1")
    assert banner(first_metered) == "1 of 5 stories this month"


async def test_hard_paywall_with_limit_zero(app_factory: Callable[..., Any]) -> None:
    app = await app_factory(policy={"anonymous_limit": 0})
    async with client_for(app) as c:
        response = await c.get("/articles/story-1")
    text = html.unescape(response.text)
    assert "Subscribe to read this story." in text
    assert "0 of 0" not in text
    assert_no_leak(response, ARTICLES["story-1"])


async def test_limit_and_copy_and_offers_come_from_settings(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(
        policy={"anonymous_limit": 2},
        copy_text={"banner": "Story {used} of your {limit} free", "gate_body": "Join us."},
        offers=[{"id": "y", "name": "All access", "price": "99.50", "interval": "year"}],
    )
    async with client_for(app) as c:
        assert banner(await c.get("/articles/story-1")) == "Story 1 of your 2 free"
        await c.get("/articles/story-2")
        gated = await c.get("/articles/story-3")
        plans = await c.get("/subscribe")
    assert "Join us." in gated.text
    assert "All access €" not in gated.text and "All access $99.50/year." in gated.text
    assert "All access" in plans.text and "$99.50" in plans.text


async def test_lede_word_count_setting(app_factory: Callable[..., Any]) -> None:
    app = await app_factory(policy={"anonymous_limit": 0, "lede_words": 4})
    async with client_for(app) as c:
        response = await c.get("/articles/story-1")
    first_words = " ".join(LEDE.format(n=1).split()[:4])
    assert first_words + " …" in html.unescape(response.text)
    assert LEDE.format(n=1) not in html.unescape(response.text)


async def test_rolling_window_frees_a_read_after_n_days(
    app_factory: Callable[..., Any], clock: Clock
) -> None:
    app = await app_factory(
        policy={"anonymous_limit": 1, "period": "rolling_days", "rolling_days": 7}
    )
    async with client_for(app) as c:
        assert banner(await c.get("/articles/story-1")) == "1 of 1 stories this month"
        clock.now += timedelta(days=3)
        assert banner(await c.get("/articles/story-2")) is None
        clock.now += timedelta(days=5)
        assert banner(await c.get("/articles/story-2")) == "1 of 1 stories this month"


async def test_calendar_month_resets_the_meter(client: httpx.AsyncClient, clock: Clock) -> None:
    for n in range(1, 6):
        await client.get(f"/articles/story-{n}")
    assert banner(await client.get("/articles/story-6")) is None
    clock.now += timedelta(days=20)  # 15 November + 20 days: December
    assert banner(await client.get("/articles/story-6")) == "1 of 5 stories this month"


async def test_reader_cookie_is_first_party_signed_and_httponly(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/articles/story-1")
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 1
    cookie = cookies[0]
    assert cookie.startswith("mw_reader=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    second = await client.get("/articles/story-2")
    assert second.headers.get_list("set-cookie") == []


async def test_reader_pages_are_private_to_the_reader(client: httpx.AsyncClient) -> None:
    for path in ("/articles/story-1", "/account/meter", "/subscribe"):
        response = await client.get(path)
        assert "private" in response.headers["cache-control"]
        assert "no-store" in response.headers["cache-control"]


async def test_unknown_article_is_a_404_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/articles/no-such-story")
    assert response.status_code == 404
    assert "Page not found" in response.text


async def test_pages_load_nothing_from_other_origins(client: httpx.AsyncClient) -> None:
    for path in ("/", "/articles/story-1", "/subscribe", "/account/meter"):
        response = await client.get(path)
        for url in re.findall(r'(?:src|href)="((?:https?:)?//[^"]*)"', response.text):
            assert url.startswith("http://testserver/"), (path, url)
        assert "default-src 'self'" in response.headers["content-security-policy"]


async def test_meter_page_lists_counted_articles_and_reset(client: httpx.AsyncClient) -> None:
    await client.get("/articles/story-2")
    await client.get("/articles/story-9")  # free: does not count
    await client.get("/articles/story-3")
    page = await client.get("/account/meter")
    assert page.status_code == 200
    assert "2 of 5" in page.text
    assert ARTICLES["story-2"].headline in page.text
    assert ARTICLES["story-3"].headline in page.text
    assert ARTICLES["story-9"].headline not in page.text
    assert "December 1, 2026" in page.text


async def test_delete_my_reading_data_keeps_the_count_not_the_articles(
    client: httpx.AsyncClient,
) -> None:
    """ATTACKS.md row 34: deleting one's reading data is not a meter reset."""
    for n in range(1, 5):
        await client.get(f"/articles/story-{n}")
    page = await client.get("/account/meter")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    done = await client.post("/account/meter/delete", data={"csrf": token.group(1)})
    assert done.status_code == 303
    assert "set-cookie" not in done.headers
    after = await client.get(done.headers["location"])
    assert "has been deleted" in after.text
    assert "4 of 5" in after.text
    assert not any(ARTICLES[f"story-{n}"].headline in after.text for n in range(1, 5))
    assert banner(await client.get("/articles/story-6")) == "5 of 5 stories this month"
    assert "SECRET-7-2" not in (await client.get("/articles/story-7")).text


async def test_delete_without_a_valid_token_is_refused_cleanly(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/articles/story-1")
    response = await client.post("/account/meter/delete", data={"csrf": "forged"})
    assert response.status_code == 400
    assert banner(await client.get("/articles/story-1")) == "1 of 5 stories this month"


async def test_feed_and_sitemap_carry_teasers_only(client: httpx.AsyncClient) -> None:
    feed = await client.get("/feed.xml")
    sitemap = await client.get("/sitemap.xml")
    assert feed.status_code == sitemap.status_code == 200
    for article in ARTICLES.values():
        assert_no_leak(feed, article)
        assert_no_leak(sitemap, article)
    assert LEDE.format(n=1) in feed.text


async def test_many_articles_many_readers(app_factory: Callable[..., Any]) -> None:
    articles = [make_article(n) for n in range(1, 21)]
    app = await app_factory(articles=articles, policy={"anonymous_limit": 3})
    for _reader in range(3):
        async with client_for(app) as c:
            full = [banner(await c.get(f"/articles/story-{n}")) is not None for n in range(1, 21)]
        assert sum(full) == 3


async def test_head_requests_do_not_spend_the_meter(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        response = await client.head("/articles/story-1")
        assert response.status_code == 200 and response.content == b""
    assert banner(await client.get("/articles/story-2")) == "1 of 5 stories this month"
