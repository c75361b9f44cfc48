"""Choosing the meter store adapter from settings."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.metering.ports import MeterStore
from meterwall.metering.redis import RedisMeterStore, redis_client
from meterwall.metering.sql import SqlMeterStore
from meterwall.settings import Settings
from meterwall.storage.pipelined_redis import PipelinedRedis


def build_meter_store(settings: Settings, engine: AsyncEngine) -> MeterStore:
    """The meter store the settings ask for: the SQL database (default) or Redis.

    The settings validate the combination (``meter_store = "redis"`` needs a
    ``redis_url``); connecting happens on first use, so an unreachable store
    shows up as an unavailable meter, never as a failed start.
    """
    timeout = settings.store_timeout_ms / 1000
    if settings.meter_store == "redis":
        url = settings.redis_url
        client = redis_client(url, cluster=settings.redis_cluster, timeout=timeout)
        return RedisMeterStore(
            client,
            prefix=settings.redis_key_prefix,
            buckets=settings.redis_meter_buckets,
            timeout=timeout,
            pipelined=None if settings.redis_cluster else PipelinedRedis(url),
        )
    return SqlMeterStore(engine, timeout=timeout)
