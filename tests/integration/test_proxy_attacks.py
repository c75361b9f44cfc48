"""ATTACKS.md rows 4 to 18, against proxy mode: each bypass technique, and that it fails."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser

from meterwall.gateway.markup import article_objects
from tests.fixtures.upstream.harness import (
    BINGBOT_IP,
    BINGBOT_UA,
    GOOGLEBOT_IP,
    GOOGLEBOT_UA,
    assert_full_text,
    assert_no_leak,
    leaked,
    proxied,
    reader,
    search_dns,
    use_resolver,
)
from tests.fixtures.upstream.site import ARTICLES, PATHS


@pytest.fixture
async def gated(app_factory: Callable[..., Any]) -> Any:
    """Proxy mode with a hard paywall, verifying crawlers against a fake DNS."""
    app = await proxied(app_factory, policy={"anonymous_limit": 0})
    use_resolver(app, search_dns())
    return app


@pytest.fixture
async def one_free(app_factory: Callable[..., Any]) -> Any:
    """Proxy mode with one free article a month, behind a trusted proxy at 10.0.0.2."""
    app = await proxied(app_factory, policy={"anonymous_limit": 1}, trusted_proxies=["10.0.0.2"])
    use_resolver(app, search_dns())
    return app


async def test_row04_forged_entitlement_cookies_get_the_teaser(gated: Any) -> None:
    cookies = {"subscriber": "true", "premium": "1", "mw_reader": "hand-made.reader.cookie"}
    async with reader(gated, cookies=cookies) as browser:
        response = await browser.get(PATHS[1])
    assert response.status_code == 200
    assert_no_leak(response, ARTICLES[1])
    assert "mw_reader=" in response.headers["set-cookie"], "a forged cookie is a new reader"


async def test_row05_blocking_scripts_reveals_nothing(gated: Any) -> None:
    async with reader(gated) as browser:
        response = await browser.get(PATHS[3])
    tree = LexborHTMLParser(response.text)
    for script in tree.css("script"):
        script.decompose()
    page = tree.html or ""
    assert "mw-gate" in page
    assert not leaked(page, ARTICLES[3])


async def test_row06_without_javascript_the_offer_is_in_the_html(gated: Any) -> None:
    async with reader(gated) as browser:
        response = await browser.get(PATHS[1])
    tree = LexborHTMLParser(response.text)
    gate = tree.css_first("section.mw-gate")
    assert gate is not None
    assert "Unlimited digital access $11/month." in gate.text()
    assert gate.css_first("a.mw-button").attributes["href"] == "/subscribe"


@pytest.mark.parametrize("n", [1, 2, 3, 6])
async def test_row07_removing_the_overlay_reveals_nothing(gated: Any, n: int) -> None:
    async with reader(gated) as browser:
        response = await browser.get(PATHS[n])
    tree = LexborHTMLParser(response.text)
    for overlay in tree.css(".mw-gate, .paywall-overlay"):
        overlay.decompose()
    for hidden in tree.css("[hidden]"):
        del hidden.attrs["hidden"]
    assert not leaked(tree.body.text() if tree.body else "", ARTICLES[n])


async def test_row08_jsonld_article_body_is_the_teaser(gated: Any) -> None:
    async with reader(gated) as browser:
        response = await browser.get(PATHS[5])
    (article,) = article_objects(LexborHTMLParser(response.text))
    assert article["articleBody"].startswith("LEDE-5")
    assert "SECRET" not in article["articleBody"]
    assert article["isAccessibleForFree"] is False
    assert article["hasPart"]["cssSelector"] == ".mw-paywalled"


async def test_row09_next_data_and_fusion_state_are_cut(gated: Any) -> None:
    async with reader(gated) as browser:
        response = await browser.get(PATHS[3])
    tree = LexborHTMLParser(response.text)
    next_data = json.loads(tree.css_first("#__NEXT_DATA__").text())
    elements = next_data["props"]["pageProps"]["globalContent"]["content_elements"]
    assert elements[0]["content"].startswith("LEDE-3")
    assert all("SECRET" not in e["content"] for e in elements)
    assert_no_leak(response, ARTICLES[3])


async def test_row09_nuxt_and_apollo_state_are_cut(gated: Any) -> None:
    async with reader(gated) as browser:
        response = await browser.get(PATHS[4])
    assert "window.__NUXT__" in response.text, "the state script itself stays"
    assert_no_leak(response, ARTICLES[4])


async def test_row09_noscript_and_template_copies_are_cut(gated: Any) -> None:
    async with reader(gated) as browser:
        response = await browser.get(PATHS[2])
    assert_no_leak(response, ARTICLES[2])


async def test_row09_base64_and_escaped_copies_are_cut(gated: Any) -> None:
    async with reader(gated) as browser:
        response = await browser.get(PATHS[5])
    tree = LexborHTMLParser(response.text)
    prose = tree.css_first(".prose")
    encoded = prose.attributes.get("data-encoded") if prose is not None else None
    if encoded:
        assert "SECRET" not in base64.b64decode(encoded).decode()
    assert_no_leak(response, ARTICLES[5])


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 9])
async def test_row10_the_named_paywalled_element_holds_only_the_teaser(gated: Any, n: int) -> None:
    async with reader(gated) as browser:
        response = await browser.get(PATHS[n])
    tree = LexborHTMLParser(response.text)
    (selector,) = {o["hasPart"]["cssSelector"] for o in article_objects(tree)}
    (element,) = tree.css(selector)
    text = element.text()
    assert f"LEDE-{n}" in text
    assert not leaked(text, ARTICLES[n])


async def test_row11_crawler_user_agent_from_an_unverified_address_gets_the_teaser(
    gated: Any,
) -> None:
    async with reader(gated, headers={"User-Agent": GOOGLEBOT_UA}) as crawler:
        response = await crawler.get(PATHS[1])
    assert_no_leak(response, ARTICLES[1])


@pytest.mark.parametrize(
    ("address", "agent"), [(GOOGLEBOT_IP, GOOGLEBOT_UA), (BINGBOT_IP, BINGBOT_UA)]
)
async def test_row11_verified_crawlers_get_full_text_with_paywall_markup(
    gated: Any, address: str, agent: str
) -> None:
    async with reader(gated, client=(address, 4000), headers={"User-Agent": agent}) as crawler:
        response = await crawler.get(PATHS[1])
    assert_full_text(response, ARTICLES[1])
    (article,) = article_objects(LexborHTMLParser(response.text))
    assert article["isAccessibleForFree"] is False
    assert "set-cookie" not in response.headers, "crawlers are not given a reader cookie"


async def test_row11_a_real_google_address_without_the_user_agent_is_a_reader(gated: Any) -> None:
    async with reader(gated, client=(GOOGLEBOT_IP, 4000)) as browser:
        response = await browser.get(PATHS[1])
    assert_no_leak(response, ARTICLES[1])


async def test_row12_spoofed_forwarded_for_is_ignored_from_untrusted_peers(gated: Any) -> None:
    headers = {
        "User-Agent": GOOGLEBOT_UA,
        "X-Forwarded-For": GOOGLEBOT_IP,
        "Forwarded": f"for={GOOGLEBOT_IP}",
    }
    async with reader(gated, headers=headers) as crawler:
        response = await crawler.get(PATHS[1])
    assert_no_leak(response, ARTICLES[1])


async def test_row12_forwarded_for_from_a_trusted_proxy_is_believed(one_free: Any) -> None:
    headers = {"User-Agent": GOOGLEBOT_UA, "X-Forwarded-For": GOOGLEBOT_IP}
    async with reader(one_free, client=("10.0.0.2", 4000), headers=headers) as crawler:
        first = await crawler.get(PATHS[1])
        second = await crawler.get(PATHS[2])
    assert_full_text(first, ARTICLES[1])
    assert_full_text(second, ARTICLES[2])


async def test_row13_search_referer_grants_nothing(one_free: Any) -> None:
    async with reader(one_free) as browser:
        await browser.get(PATHS[1])
        response = await browser.get(
            PATHS[2], headers={"Referer": "https://www.google.com/search?q=harbor"}
        )
    assert_no_leak(response, ARTICLES[2])


async def test_row14_changing_address_keeps_the_meter(one_free: Any) -> None:
    async with reader(one_free, client=("10.0.0.2", 4000)) as browser:
        first = await browser.get(PATHS[1], headers={"X-Forwarded-For": "203.0.113.1"})
        second = await browser.get(PATHS[2], headers={"X-Forwarded-For": "203.0.113.99"})
    assert_full_text(first, ARTICLES[1])
    assert_no_leak(second, ARTICLES[2])


@pytest.mark.parametrize(
    "amp_path", [PATHS[1] + "amp/", PATHS[3] + "?outputType=amp"], ids=["wp-amp", "outputType"]
)
async def test_row15_amp_versions_are_gated_like_the_canonical_page(
    gated: Any, amp_path: str
) -> None:
    n = 1 if amp_path.startswith(PATHS[1]) else 3
    async with reader(gated) as browser:
        response = await browser.get(amp_path)
    assert "<html amp" in response.text
    assert_no_leak(response, ARTICLES[n])
    assert "mw-gate" in response.text


async def test_row15_amp_and_canonical_share_one_meter_count(one_free: Any) -> None:
    async with reader(one_free) as browser:
        canonical = await browser.get(PATHS[1])
        amp = await browser.get(PATHS[1] + "amp/")
        other = await browser.get(PATHS[2])
    assert_full_text(canonical, ARTICLES[1])
    assert_full_text(amp, ARTICLES[1])
    assert_no_leak(other, ARTICLES[2])


async def test_row16_url_variants_are_one_article(one_free: Any) -> None:
    variants = [
        PATHS[1],
        PATHS[1] + "?utm_source=newsletter",
        PATHS[1].rstrip("/"),
        PATHS[1].upper(),
        PATHS[1] + "print/",
        PATHS[1] + "?_preview=true&fbclid=x",
    ]
    async with reader(one_free) as browser:
        for variant in variants:
            response = await browser.get(variant)
            assert_full_text(response, ARTICLES[1])
        response = await browser.get(PATHS[2])
    assert_no_leak(response, ARTICLES[2])


async def test_row17_feeds_and_content_apis_give_teasers_only(gated: Any) -> None:
    async with reader(gated) as browser:
        responses = [
            await browser.get("/feed/"),
            await browser.get("/atom.xml"),
            await browser.get("/wp-json/wp/v2/posts"),
            await browser.get("/sitemap.xml"),
            await browser.get("/?s=harbor"),
            await browser.post("/api/v1/access", json={"article": {"id": "https://x/y"}}),
        ]
    for response in responses:
        for article in ARTICLES.values():
            assert_no_leak(response, article)


async def test_row18_a_proxy_posing_as_a_crawler_gets_the_teaser_and_costs_one_lookup(
    app_factory: Callable[..., Any],
) -> None:
    app = await proxied(app_factory, policy={"anonymous_limit": 0})
    dns = search_dns()
    use_resolver(app, dns)
    async with reader(app, client=("192.0.2.44", 4000)) as fetcher:
        for n in (1, 2, 3):
            response = await fetcher.get(
                PATHS[n], headers={"User-Agent": GOOGLEBOT_UA, "X-Forwarded-For": GOOGLEBOT_IP}
            )
            assert_no_leak(response, ARTICLES[n])
    assert dns.lookups == 1, "the failed verification is cached"


async def test_range_requests_cannot_fetch_a_slice_of_the_body(gated: Any) -> None:
    async with reader(gated) as browser:
        response = await browser.get(PATHS[1], headers={"Range": "bytes=1500-6000"})
    assert response.status_code == 200
    assert_no_leak(response, ARTICLES[1])


async def test_conditional_headers_do_not_bypass_the_gate(gated: Any) -> None:
    async with reader(gated) as browser:
        response = await browser.get(PATHS[1], headers={"If-None-Match": '"v1"'})
    assert_no_leak(response, ARTICLES[1])


async def test_post_to_an_article_url_is_gated_too(gated: Any) -> None:
    async with reader(gated) as browser:
        response = await browser.post(PATHS[1], data={"x": "1"})
    assert_no_leak(response, ARTICLES[1])


async def test_head_requests_carry_no_body(gated: Any) -> None:
    async with reader(gated) as browser:
        response = await browser.head(PATHS[1])
    assert response.content == b""


async def test_a_client_cannot_pick_the_upstream_host(gated: Any) -> None:
    transport = httpx.ASGITransport(app=gated)
    async with httpx.AsyncClient(transport=transport, base_url="http://evil.example") as client:
        response = await client.get("/echo", headers={"Host": "evil.example"})
    assert response.json()["headers"]["host"] == "upstream.internal"
    assert response.json()["headers"]["x-forwarded-host"] == "news.example"
