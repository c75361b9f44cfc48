"""Choosing the cache store adapter from settings, and building the cache."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from meterwall.gateway.cache.journal import PurgeJournal
from meterwall.gateway.cache.layer import UpstreamCache
from meterwall.gateway.cache.memory import MemoryCacheStore
from meterwall.gateway.cache.ports import CacheStore
from meterwall.gateway.cache.redis import RedisCacheStore
from meterwall.metering.redis import redis_client
from meterwall.settings import Settings

JOURNAL_NAME = "cache-purges.log"
"""The purge journal of the in-memory cache, in ``data_dir``."""


def build_cache_store(settings: Settings) -> CacheStore:
    """The store ``cache.backend`` names: this process's memory (default) or Redis.

    Connecting to Redis happens on first use, so an unreachable Redis shows
    up as cache misses, never as a failed start.
    """
    cache = settings.cache
    if cache.backend == "redis":
        timeout = cache.timeout_ms / 1000
        client = redis_client(settings.redis_url, cluster=settings.redis_cluster, timeout=timeout)
        return RedisCacheStore(client, prefix=settings.redis_key_prefix, timeout=timeout)
    return MemoryCacheStore(cache.max_bytes, journal=PurgeJournal(settings.data_dir / JOURNAL_NAME))


def build_upstream_cache(
    settings: Settings, registry: CollectorRegistry | None = None
) -> UpstreamCache | None:
    """The upstream cache of proxy mode, or ``None`` when it is off.

    With a metrics ``registry``, every lookup is counted there by result as
    ``meterwall_upstream_cache_total{result=...}``.
    """
    if not (settings.cache.enabled and settings.proxy.enabled):
        return None
    observe = None
    if registry is not None:
        counter = Counter(
            "meterwall_upstream_cache",
            "Upstream cache lookups in proxy mode, by result "
            "(hit, stale, miss, revalidated, stale_if_error, pass, unavailable).",
            ["result"],
            registry=registry,
        )

        children: dict[str, Counter] = {}

        def observe(result: str) -> None:
            # One labelled child per result, looked up once (the lookup costs more than a count).
            child = children.get(result)
            if child is None:
                child = children[result] = counter.labels(result)
            child.inc()

    return UpstreamCache(
        build_cache_store(settings),
        settings.cache,
        origins=(settings.public_url, settings.proxy.upstream),
        fill_timeout=settings.proxy.timeout_seconds,
        observe=observe,
    )
