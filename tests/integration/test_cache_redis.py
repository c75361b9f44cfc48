"""Every cache store meets the port; Redis (and Redis Cluster) shares one cache between nodes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from meterwall.gateway.cache.entry import CacheKey, Entry
from meterwall.gateway.cache.factory import build_cache_store
from meterwall.gateway.cache.freshness import Freshness
from meterwall.gateway.cache.memory import MemoryCacheStore
from meterwall.gateway.cache.ports import CacheStore, CacheUnavailable
from meterwall.gateway.cache.redis import RedisCacheStore
from tests.backends import delete_redis_prefix
from tests.factories import make_settings
from tests.fixtures.cache_origin import ARTICLE, Clock, Origin, cached_proxy
from tests.fixtures.upstream.harness import assert_full_text, assert_no_leak, reader
from tests.fixtures.upstream.site import ARTICLES, PUBLIC

TOKEN = "purge-token-0123456789"


def redis_settings(request: pytest.FixtureRequest, backend: str) -> dict[str, Any]:
    """Settings putting the cache on ``backend`` under a key prefix of this test's own."""
    cluster = backend == "redis-cluster"
    url = request.getfixturevalue("redis_cluster_url" if cluster else "redis_url")
    prefix = f"mwcache:{uuid.uuid4().hex[:10]}:"
    request.addfinalizer(lambda: delete_redis_prefix(url, prefix, cluster=cluster))
    return {
        "redis_url": url,
        "redis_cluster": cluster,
        "redis_key_prefix": prefix,
        "cache": {"enabled": True, "backend": "redis", "timeout_ms": 5_000},
    }


@pytest.fixture(params=["memory", "redis", "redis-cluster"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CacheStore]:
    if request.param == "memory":
        settings = make_settings(tmp_path, cache={"enabled": True})
    else:
        settings = make_settings(tmp_path, **redis_settings(request, request.param))
    built = build_cache_store(settings)
    yield built
    await built.close()


def entry(body: bytes, keep: float = 600, version: str = "v1") -> Entry:
    return Entry(
        status=200,
        headers=(("content-type", "text/html"), ("etag", '"e"')),
        body=body,
        freshness=Freshness(time.time(), 0, keep, 0, 0, False),
        version=version,
        vary=(("accept-language", "fr"),),
    )


def key(group: str, variant: str = "gzip") -> CacheKey:
    return CacheKey(group=group, variant=variant, target=group)


async def test_an_entry_comes_back_as_it_was_stored(store: CacheStore) -> None:
    kept = entry(b"\x1f\x8b binary \x00 body", version="abc")
    await store.put(key("/a"), kept)
    assert await store.get(key("/a")) == kept
    assert await store.get(key("/a", "identity")) is None
    assert await store.get(key("/b")) is None


async def test_a_put_replaces_and_a_delete_removes(store: CacheStore) -> None:
    await store.put(key("/a"), entry(b"one", version="1"))
    await store.put(key("/a"), entry(b"two", version="2"))
    found = await store.get(key("/a"))
    assert found is not None and found.body == b"two"
    await store.delete(key("/a"))
    assert await store.get(key("/a")) is None


async def test_a_purge_drops_every_variant_of_the_path_only(store: CacheStore) -> None:
    for variant in ("gzip", "identity", "page=2\ngzip"):
        await store.put(key("/a", variant), entry(b"x"))
    await store.put(key("/b"), entry(b"y"))
    assert await store.purge(["/a", "/missing"]) == 1
    for variant in ("gzip", "identity", "page=2\ngzip"):
        assert await store.get(key("/a", variant)) is None
    assert await store.get(key("/b")) is not None


async def test_purge_all_empties_the_cache(store: CacheStore) -> None:
    for n in range(20):
        await store.put(key(f"/story/{n}"), entry(b"x"))
    assert await store.purge_all() == 20
    assert all([await store.get(key(f"/story/{n}")) is None for n in range(20)])


async def test_entries_past_their_keep_time_are_not_served(store: CacheStore) -> None:
    old = Entry(
        status=200,
        headers=(),
        body=b"old",
        freshness=Freshness(time.time() - 1_000, 0, 10, 0, 0, False),
        version="old",
    )
    await store.put(key("/old"), old)
    assert await store.get(key("/old")) is None


async def test_only_one_node_at_a_time_may_fill_a_key(store: CacheStore) -> None:
    assert await store.claim(key("/a"), 5)
    if isinstance(store, MemoryCacheStore):
        return  # one process coalesces its own fills before they reach the store
    assert not await store.claim(key("/a"), 5)
    assert await store.claim(key("/a", "identity"), 5)
    await store.release(key("/a"))
    assert await store.claim(key("/a"), 5)


@pytest.mark.parametrize("backend", ["redis", "redis-cluster"])
async def test_the_hash_of_a_url_expires_with_its_longest_kept_variant(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    values = redis_settings(request, backend)
    store = build_cache_store(make_settings(tmp_path, **values))
    assert isinstance(store, RedisCacheStore)
    await store.put(key("/a", "short"), entry(b"x", keep=100))
    await store.put(key("/a", "long"), entry(b"x", keep=5_000))
    await store.put(key("/a", "short again"), entry(b"x", keep=50))
    cluster = values["redis_cluster"]
    raw: Any = (
        redis.RedisCluster.from_url(values["redis_url"])
        if cluster
        else redis.Redis.from_url(values["redis_url"])
    )
    try:
        ttl = raw.ttl(store.hash_key("/a"))
    finally:
        raw.close()
    await store.close()
    assert 4_900 < ttl <= 5_000 + 300


async def test_an_unreachable_redis_is_a_clear_error_not_a_hang(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        redis_url="redis://127.0.0.1:1/0",
        cache={"enabled": True, "backend": "redis", "timeout_ms": 200},
    )
    store = build_cache_store(settings)
    started = time.monotonic()
    with pytest.raises(CacheUnavailable):
        await store.get(key("/a"))
    assert time.monotonic() - started < 2
    await store.close()


Factory = Callable[..., Any]


@pytest.mark.parametrize("backend", ["redis", "redis-cluster"])
async def test_two_nodes_share_one_cache_and_one_purge(
    app_factory: Factory, request: pytest.FixtureRequest, backend: str
) -> None:
    values = redis_settings(request, backend)
    values["cache"]["purge_token"] = TOKEN
    origin = Origin()
    origin.script(ARTICLE, headers={"Cache-Control": "max-age=600"})
    clock = Clock(time.time())
    node_a = await cached_proxy(app_factory, origin, clock, policy={"anonymous_limit": 0}, **values)
    node_b = await cached_proxy(app_factory, origin, clock, policy={"anonymous_limit": 0}, **values)
    async with reader(node_a) as first, reader(node_b) as second:
        await first.get(ARTICLE)
        gated = await second.get(ARTICLE)
        assert origin.hits[ARTICLE] == 1, "node B served node A's copy"
        assert_no_leak(gated, ARTICLES[1])
        purged = await second.post(
            "/_meterwall/purge",
            json={"url": PUBLIC + ARTICLE},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert purged.json()["purged"] == 1
        await first.get(ARTICLE)
    assert origin.hits[ARTICLE] == 2, "the purge on node B reached node A"
    for app in (node_a, node_b):
        await app.state.gateway.cache.aclose()


async def test_a_burst_across_two_nodes_costs_the_upstream_one_request(
    app_factory: Factory, request: pytest.FixtureRequest
) -> None:
    values = redis_settings(request, "redis")
    origin = Origin()
    origin.script(ARTICLE, headers={"Cache-Control": "max-age=600"})
    nodes = [await cached_proxy(app_factory, origin, **values) for _ in range(2)]
    origin.hold()
    clients = [reader(nodes[n % 2]) for n in range(20)]
    requests = [asyncio.create_task(c.get(ARTICLE)) for c in clients]
    await origin.until(lambda: origin.waiting >= 1)
    await asyncio.sleep(0.3)  # node B's requests wait for node A's fetch through Redis
    origin.release()
    responses = await asyncio.wait_for(asyncio.gather(*requests), 30)
    for client in clients:
        await client.aclose()
    assert origin.hits[ARTICLE] == 1
    for response in responses:
        assert_full_text(response, ARTICLES[1])
    for app in nodes:
        await app.state.gateway.cache.aclose()


async def test_readers_are_served_while_redis_is_down(app_factory: Factory) -> None:
    origin = Origin()
    origin.script(ARTICLE, headers={"Cache-Control": "max-age=600"})
    app = await cached_proxy(
        app_factory,
        origin,
        redis_url="redis://127.0.0.1:1/0",
        # Only the cache is on the dead Redis: the meter stays in SQL even when the
        # suite runs with METERWALL_TEST_REDIS_URL (the meter's own faults are tested
        # in test_faults.py).
        meter_store="sql",
        cache={"enabled": True, "backend": "redis", "timeout_ms": 100},
    )
    async with reader(app) as browser:
        responses = [await browser.get(ARTICLE) for _ in range(2)]
    for response in responses:
        assert response.status_code == 200
        assert_full_text(response, ARTICLES[1])
    assert app.state.gateway.cache.stats["unavailable"] >= 2
    await app.state.gateway.cache.aclose()
