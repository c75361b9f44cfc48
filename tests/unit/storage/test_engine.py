"""Database URLs as operators paste them become the async drivers meterwall uses."""

from __future__ import annotations

import re

import pytest

from meterwall.storage.engine import UnsupportedDatabase, normalise_database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "postgres://news:s3cr%40t@db.internal:5433/meterwall",
            "postgresql+asyncpg://news:s3cr%40t@db.internal:5433/meterwall",
        ),
        ("postgresql://db/meterwall", "postgresql+asyncpg://db/meterwall"),
        ("postgresql+asyncpg://db/meterwall", "postgresql+asyncpg://db/meterwall"),
        (
            "postgresql://db/meterwall?sslmode=require",
            "postgresql+asyncpg://db/meterwall?ssl=require",
        ),
        (
            "sqlite:////var/lib/meterwall/meterwall.db",
            "sqlite+aiosqlite:////var/lib/meterwall/meterwall.db",
        ),
        ("sqlite+aiosqlite:///data/m.db", "sqlite+aiosqlite:///data/m.db"),
    ],
)
def test_urls_get_the_async_driver(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("mysql://db/meterwall", "runs on PostgreSQL"),
        ("postgresql+psycopg2://db/meterwall", "uses postgresql+asyncpg"),
        ("sqlite+pysqlite:///m.db", "uses sqlite+aiosqlite"),
        ("postgresql://db/x?sslmode=sometimes", "unknown sslmode"),
        ("db.internal:5432", "not a database URL"),
        ("", "not a database URL"),
    ],
)
def test_unusable_urls_are_refused_with_what_would_work(given: str, says: str) -> None:
    with pytest.raises(UnsupportedDatabase, match=re.escape(says)):
        normalise_database_url(given)
