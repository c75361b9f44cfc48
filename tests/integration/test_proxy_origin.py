"""Issue 11 row 8: the upstream's internal origin never reaches readers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import httpx
import pytest
from starlette.applications import Starlette

from tests.fixtures.upstream.harness import (
    UPSTREAM,
    assert_full_text,
    assert_no_leak,
    proxied,
    reader,
)
from tests.fixtures.upstream.server import InternalOrigin
from tests.fixtures.upstream.site import ARTICLES, PATHS, PUBLIC, create_upstream

INTERNAL = UPSTREAM.split("://")[1]  # upstream.internal


def _assert_public(response: httpx.Response) -> None:
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.multi_items())
    assert INTERNAL not in response.text, "the upstream's address is in the body"
    assert INTERNAL not in headers, "the upstream's address is in the headers"


@pytest.fixture(params=[False, True], ids=["no cache", "cache"])
async def internal(app_factory: Callable[..., Any], request: pytest.FixtureRequest) -> Any:
    """Proxy mode with one free article, in front of a CMS that writes its own address."""
    upstream = cast(Starlette, InternalOrigin(create_upstream(), PUBLIC, UPSTREAM))
    return await proxied(
        app_factory,
        upstream=upstream,
        policy={"anonymous_limit": 1},
        cache={"enabled": request.param},
    )


@pytest.mark.parametrize("accept", ["gzip", "identity"])
async def test_article_pages_name_only_the_public_origin(internal: Any, accept: str) -> None:
    async with reader(internal, headers={"accept-encoding": accept}) as browser:
        full = await browser.get(PATHS[1])
        gated = await browser.get(PATHS[3])
    assert_full_text(full, ARTICLES[1])
    assert_no_leak(gated, ARTICLES[3])
    for response in (full, gated):
        _assert_public(response)
        assert f'<link rel="canonical" href="{PUBLIC}' in response.text
        assert (
            f'<{PUBLIC}/wp-json/wp/v2/posts/1>; rel="https://api.w.org/"'
            in (response.headers["link"])
        )


@pytest.mark.parametrize("path", ["/", "/feed/", "/atom.xml", "/sitemap.xml", "/?s=harbor"])
@pytest.mark.parametrize("accept", ["gzip", "identity"])
async def test_other_pages_and_feeds_name_only_the_public_origin(
    internal: Any, path: str, accept: str
) -> None:
    async with reader(internal, headers={"accept-encoding": accept}) as browser:
        response = await browser.get(path)
        again = await browser.get(path)
    assert response.status_code == 200
    _assert_public(response)
    _assert_public(again)
    assert PUBLIC in response.text
