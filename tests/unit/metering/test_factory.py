"""The settings pick the meter store; impossible combinations are refused with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from meterwall.metering.factory import build_meter_store
from meterwall.metering.redis import RedisMeterStore
from meterwall.metering.sql import SqlMeterStore
from meterwall.settings import SettingsError, load_settings
from meterwall.storage.engine import create_engine


async def test_sql_is_the_default_and_redis_is_chosen_by_settings(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    default = load_settings(data_dir=tmp_path)
    assert isinstance(build_meter_store(default, engine), SqlMeterStore)
    redis = load_settings(data_dir=tmp_path, meter_store="redis", redis_url="redis://127.0.0.1:1/0")
    store = build_meter_store(redis, engine)
    assert isinstance(store, RedisMeterStore)
    await store.close()
    await engine.dispose()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"meter_store": "redis"}, "meter_store is 'redis' but redis_url is empty"),
        ({"redis_url": "127.0.0.1:6379"}, "redis_url (env METERWALL_REDIS_URL)"),
        ({"redis_cluster": True}, "redis_cluster is set but meter_store is not 'redis'"),
        ({"meter_store": "memcached"}, "meter_store (env METERWALL_METER_STORE)"),
        ({"database_url": "mysql://db/news"}, "database_url (env METERWALL_DATABASE_URL)"),
        ({"store_timeout_ms": 0}, "store_timeout_ms (env METERWALL_STORE_TIMEOUT_MS)"),
        ({"redis_meter_buckets": 0}, "redis_meter_buckets"),
    ],
)
def test_bad_store_settings_name_the_setting(settings: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(**settings)
    assert message in str(error.value)


def test_plain_postgres_urls_are_accepted_and_normalised() -> None:
    settings = load_settings(database_url="postgres://news@db.internal/meterwall")
    assert settings.resolved_database_url == "postgresql+asyncpg://news@db.internal/meterwall"
