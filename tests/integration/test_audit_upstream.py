"""``meterwall audit`` against the fake upstream itself and through the proxy.

The unfixed upstream leaks issue 11's rows 3 and 4: a Next.js data route,
an RSC payload and rich text split into runs in ``__NEXT_DATA__``; the
audit must find each, naming the channel.  Pages gated by meterwall must
raise no alarm in any representation the audit asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from meterwall.gateway.audit import AuditError, Report, audit_url
from tests.fixtures.upstream.harness import proxied, reader
from tests.fixtures.upstream.site import PATHS, PUBLIC, RICH_PATH, create_upstream


def upstream() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_upstream()), base_url=PUBLIC)


def leaks(report: Report) -> dict[str, str]:
    return {f.check: f.channel for f in report.leaks}


async def test_audit_finds_rich_text_data_route_and_rsc_leaks_upstream() -> None:
    async with upstream() as client:
        report = await audit_url(PUBLIC + RICH_PATH, client)
    found = leaks(report)
    assert found.get("hydration state") == "script/hydration state", report.to_text()
    assert found.get("Next.js data route") == "data route", report.to_text()
    assert found.get("RSC payload") == "rsc payload", report.to_text()
    assert found.get("RSC query") == "rsc payload", report.to_text()
    text = report.to_text()
    assert "leaked: “" in text and "This sentence belongs only to the gated body" in text


async def test_audit_finds_nested_media_feed_leaks_upstream() -> None:
    async with upstream() as client:
        page = await client.get(RICH_PATH)
    html = page.text.replace(
        "</head>",
        '<link rel="alternate" type="application/rss+xml" href="/media.xml">'
        '<link rel="alternate" type="application/feed+json" href="/rich/feed.json"></head>',
    )

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == RICH_PATH and not request.headers.get("rsc"):
            return httpx.Response(200, text=html, headers={"content-type": "text/html"})
        async with upstream() as real:
            answer = await real.get(str(request.url), headers=request.headers)
        kind = {"content-type": answer.headers.get("content-type", "text/plain")}
        return httpx.Response(answer.status_code, content=answer.content, headers=kind)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        report = await audit_url(PUBLIC + RICH_PATH, client)
    feeds = [f for f in report.findings if f.channel == "feed"]
    assert len(feeds) == 2 and all(f.level == "leak" for f in feeds), report.to_text()


async def test_an_upstream_404_or_5xx_is_an_error_not_a_clean_report() -> None:
    async with upstream() as client:
        with pytest.raises(AuditError, match="404"):
            await audit_url(PUBLIC + "/no/such/story", client)

    def broken(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="down")

    async with httpx.AsyncClient(transport=httpx.MockTransport(broken)) as client:
        with pytest.raises(AuditError, match="503"):
            await audit_url(PUBLIC + RICH_PATH, client)


@pytest.fixture
async def gated(app_factory: Callable[..., Any]) -> Any:
    """Proxy mode with a hard paywall."""
    return await proxied(app_factory, policy={"anonymous_limit": 0})


@pytest.mark.parametrize("path", [PATHS[1], PATHS[2], PATHS[3], PATHS[4], PATHS[5], RICH_PATH])
async def test_pages_gated_by_meterwall_raise_no_alarm(gated: Any, path: str) -> None:
    async with reader(gated) as browser:
        report = await audit_url(PUBLIC + path, browser, follow=False)
    assert not report.leaks, report.to_text()


@pytest.mark.parametrize("path", [PATHS[1], RICH_PATH], ids=["story", "rich text story"])
async def test_representations_of_a_gated_page_raise_no_alarm(gated: Any, path: str) -> None:
    async with reader(gated) as browser:
        report = await audit_url(PUBLIC + path, browser)
    assert not report.leaks, report.to_text()
    checks = {f.check for f in report.findings}
    assert {"RSC payload", "Accept JSON", "?format=txt", "XHR fragment"} <= checks
    if path == RICH_PATH:
        assert "Next.js data route" in checks
