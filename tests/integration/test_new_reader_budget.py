"""ATTACKS.md row 31: a client dropping its cookie on every request, at machine speed.

With ``new_readers_per_network_per_hour`` set, one client network (an IPv4
address, an IPv6 /64) gets at most that many distinct anonymous readers'
metered reads per hour, on the built-in site, the decision API and proxy
mode; past it a fresh cookie gets the teaser, never an error.  Off by default.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from starlette.applications import Starlette

from tests.fixtures.upstream.harness import assert_full_text, proxied, reader
from tests.fixtures.upstream.site import ARTICLES, PATHS

BUDGET = 7
ATTACKER = ("203.0.113.9", 5000)


def client_for(app: Starlette, client: tuple[str, int] = ATTACKER) -> httpx.AsyncClient:
    """A client with an empty cookie jar, from ``client``'s address."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=client), base_url="http://testserver"
    )


async def site_read(app: Starlette, client: tuple[str, int] = ATTACKER, **headers: str) -> bool:
    """One fresh-cookie read of a metered article; whether it came in full."""
    async with client_for(app, client) as fresh:
        response = await fresh.get("/articles/story-1", headers=headers)
    assert response.status_code == 200
    return "Subscribe to continue." not in response.text


async def test_site_grants_exactly_the_budget_to_100_parallel_fresh_cookies(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(new_readers_per_network_per_hour=BUDGET)
    full = await asyncio.gather(*(site_read(app) for _ in range(100)))
    assert sum(full) == BUDGET
    assert await site_read(app, ("198.51.100.20", 5000)), "another network has its own budget"


async def test_an_admitted_reader_keeps_reading_and_registered_readers_are_not_counted(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(new_readers_per_network_per_hour=1)
    async with client_for(app) as kept:
        for n in (1, 2, 3):
            response = await kept.get(f"/articles/story-{n}")
            assert "Subscribe to continue." not in response.text
    assert not await site_read(app)


async def test_one_ipv6_slash_64_is_one_network(app_factory: Callable[..., Any]) -> None:
    app = await app_factory(new_readers_per_network_per_hour=BUDGET)
    full = await asyncio.gather(
        *(site_read(app, (f"2001:db8:5:6::{n:x}", 5000)) for n in range(1, 41))
    )
    assert sum(full) == BUDGET
    assert await site_read(app, ("2001:db8:5:7::1", 5000))


async def test_the_address_is_read_with_the_trusted_proxy_rule(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(new_readers_per_network_per_hour=1, trusted_proxies=["10.0.0.2"])
    proxy = ("10.0.0.2", 4000)
    assert await site_read(app, proxy, **{"X-Forwarded-For": "198.51.100.1"})
    assert await site_read(app, proxy, **{"X-Forwarded-For": "198.51.100.2"})
    assert not await site_read(app, proxy, **{"X-Forwarded-For": "198.51.100.2"})
    # From an untrusted peer the header is ignored: picking one's own address does not help.
    assert await site_read(app, ATTACKER, **{"X-Forwarded-For": "198.51.100.3"})
    assert not await site_read(app, ATTACKER, **{"X-Forwarded-For": "198.51.100.4"})


async def test_off_by_default(app_factory: Callable[..., Any]) -> None:
    app = await app_factory()
    full = await asyncio.gather(*(site_read(app) for _ in range(20)))
    assert all(full)


async def test_decision_api_grants_exactly_the_budget(app_factory: Callable[..., Any]) -> None:
    app = await app_factory(new_readers_per_network_per_hour=BUDGET)

    async def ask() -> bool:
        async with client_for(app) as fresh:
            response = await fresh.post(
                "/api/v1/access", json={"article": {"id": "https://news.example/a/"}}
            )
        assert response.status_code == 200
        return bool(response.json()["decision"]["full_text"])

    full = await asyncio.gather(*(ask() for _ in range(100)))
    assert sum(full) == BUDGET


async def test_proxy_mode_grants_exactly_the_budget(app_factory: Callable[..., Any]) -> None:
    app = await proxied(
        app_factory, policy={"anonymous_limit": 5}, new_readers_per_network_per_hour=BUDGET
    )

    async def read() -> bool:
        async with reader(app, client=ATTACKER) as fresh:
            response = await fresh.get(PATHS[1])
        assert response.status_code == 200
        try:
            assert_full_text(response, ARTICLES[1])
        except AssertionError:
            return False
        return True

    full = await asyncio.gather(*(read() for _ in range(100)))
    assert sum(full) == BUDGET
