"""The proxy's leak and attack tests (tests/integration/test_proxy*.py), run through the cache.

Every test of those modules is collected here a second time, with the
upstream cache switched on.  The proxies their fixtures build are warmed
first by another reader, so the tests read cached copies (and the outcomes
prepared from them) rather than fresh upstream pages.  Tests that swap the
upstream out mid-test build their own proxy, which here has the cache on
but starts cold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette

from tests.fixtures.upstream import harness
from tests.fixtures.upstream.site import PATHS
from tests.integration import test_proxy, test_proxy_attacks
from tests.integration.test_proxy import *  # noqa: F403
from tests.integration.test_proxy_attacks import *  # noqa: F403

WARM_PATHS = [*PATHS.values(), "/", "/feed/", "/atom.xml", "/2026/11/harbor-gates/amp/"]


async def cached(
    app_factory: Callable[..., Any], upstream: Starlette | None = None, **overrides: Any
) -> Starlette:
    """:func:`harness.proxied` with the upstream cache on."""
    overrides["cache"] = {"enabled": True, **overrides.get("cache", {})}
    return await harness.proxied(app_factory, upstream, **overrides)


async def warmed(app_factory: Callable[..., Any], **overrides: Any) -> Starlette:
    """A cached proxy whose cache already holds every page (fetched by another reader)."""
    app = await cached(app_factory, **overrides)
    async with harness.reader(app, client=("192.0.2.200", 6000)) as warmer:
        for path in WARM_PATHS:
            await warmer.get(path)
    assert app.state.gateway.cache.stats["miss"] >= len(PATHS)
    return app


@pytest.fixture(autouse=True)
def through_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (test_proxy, test_proxy_attacks):
        monkeypatch.setattr(module, "proxied", cached)


@pytest.fixture
async def hard_paywall(app_factory: Callable[..., Any]) -> Starlette:
    return await warmed(app_factory, policy={"anonymous_limit": 0})


@pytest.fixture
async def metered(app_factory: Callable[..., Any]) -> Starlette:
    return await warmed(app_factory)


@pytest.fixture
async def gated(app_factory: Callable[..., Any]) -> Starlette:
    app = await warmed(app_factory, policy={"anonymous_limit": 0})
    harness.use_resolver(app, harness.search_dns())
    return app


@pytest.fixture
async def one_free(app_factory: Callable[..., Any]) -> Starlette:
    app = await warmed(app_factory, policy={"anonymous_limit": 1}, trusted_proxies=["10.0.0.2"])
    harness.use_resolver(app, harness.search_dns())
    return app


async def test_the_cached_runs_really_read_from_the_cache(hard_paywall: Starlette) -> None:
    cache = hard_paywall.state.gateway.cache
    hits = cache.stats["hit"]
    async with harness.reader(hard_paywall) as browser:
        for path in PATHS.values():
            await browser.get(path)
    assert cache.stats["hit"] - hits == len(PATHS)
