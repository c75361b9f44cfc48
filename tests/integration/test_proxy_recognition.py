"""Proxy mode on pages nobody configured: listings pass free, bodies not found fail closed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.fixtures.upstream.harness import proxied, reader

CARDS = "".join(
    f'<div class="card"><h3><a href="/story-{i}">Story {i} headline</a></h3>'
    f"<p>A short summary of story {i} that invites the reader to click through.</p></div>"
    for i in range(8)
)
ITEMS = ",".join(f'{{"@type":"NewsArticle","url":"/story-{i}"}}' for i in range(8))
LISTING = (
    '<!doctype html><html><head><meta property="og:type" content="article">'
    f'<script type="application/ld+json">{{"@type":"ItemList","itemListElement":[{ITEMS}]}}'
    f"</script></head><body><h1>News</h1><main>{CARDS}</main></body></html>"
)
STORY = (
    '<!doctype html><html><head><meta property="og:type" content="article"></head><body>'
    "<h1>Harbor</h1><div class='s'>"
    + "".join(
        f"<p>SECRET-{i} Paragraph {i} of the story, long enough to read as real prose.</p>"
        for i in range(8)
    )
    + "</div></body></html>"
)
NO_BODY = (
    '<!doctype html><html><head><meta property="og:type" content="article"></head><body>'
    "<h1>Harbor</h1>"
    + "<br>".join(
        f"SECRET-{i} Paragraph {i} of the story, long enough to read as real prose."
        for i in range(8)
    )
    + "</body></html>"
)
PAGES = {"/news": LISTING, "/story": STORY, "/no-body": NO_BODY}


def upstream() -> Starlette:
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGES[request.url.path])

    return Starlette(routes=[Route(path, page) for path in PAGES])


async def test_a_listing_passes_unchanged_and_spends_no_read(
    app_factory: Callable[..., Any],
) -> None:
    app = await proxied(app_factory, upstream(), policy={"anonymous_limit": 1})
    async with reader(app) as browser:
        listing = await browser.get("/news")
        story = await browser.get("/story")
    assert listing.text == LISTING
    assert "SECRET-7" in story.text and "mw-gate" not in story.text


async def test_an_article_whose_body_is_not_found_is_gated_logged_and_counted(
    app_factory: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    app = await proxied(app_factory, upstream(), policy={"anonymous_limit": 0})
    with caplog.at_level(logging.WARNING):
        async with reader(app) as browser:
            response = await browser.get("/no-body")
    assert "SECRET" not in response.text and "mw-gate" in response.text
    assert "body not found at http://" in caplog.text and "/no-body" in caplog.text
    exported = generate_latest(app.state.services.metrics.registry).decode()
    assert "meterwall_proxy_body_not_found_total 1.0" in exported
