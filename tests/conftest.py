"""Shared fixtures: an app on a fresh SQLite database, with articles, and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from meterwall.access.model import AccessLevel
from meterwall.app import create_app
from meterwall.content.model import Article
from meterwall.storage.migrate import upgrade
from tests.factories import make_article, make_settings

pytest_plugins = ["tests.backends", "tests.fixtures.wordpress", "tests.fixtures.nextjs"]

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


def standard_articles() -> list[Article]:
    """Eight metered stories, one free, one premium, one in an exempt section."""
    items = [make_article(n) for n in range(1, 9)]
    items.append(make_article(9, access=AccessLevel.FREE))
    items.append(make_article(10, access=AccessLevel.PREMIUM))
    items.append(make_article(11, section="Obituaries"))
    return items


class Clock:
    """A settable clock for the app."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app_factory(
    tmp_path: Path, clock: Clock, app_backends: dict[str, Any]
) -> AsyncIterator[Callable[..., Any]]:
    """Build an app (migrated, seeded with :func:`standard_articles`) with setting overrides.

    Apps run on SQLite in ``tmp_path``, or on PostgreSQL and a Redis meter when
    ``METERWALL_TEST_DATABASE_URL`` / ``METERWALL_TEST_REDIS_URL`` say so
    (the ``app_backends`` fixture of :mod:`tests.backends`).
    """
    built: list[Starlette] = []

    async def build(articles: list[Article] | None = None, **overrides: Any) -> Starlette:
        settings = make_settings(tmp_path, auto_migrate=False, **{**app_backends, **overrides})
        upgrade(settings.resolved_database_url)
        app = create_app(settings)
        services = app.state.services
        object.__setattr__(services, "clock", clock)
        await services.articles.save_all(
            (a, "test") for a in (standard_articles() if articles is None else articles)
        )
        built.append(app)
        return app

    yield build
    for app in built:
        await app.state.services.access.meter.close()
        await app.state.services.engine.dispose()


@pytest.fixture
async def app(app_factory: Callable[..., Any]) -> Starlette:
    return await app_factory(policy={"exempt_sections": ["Obituaries"]})


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as c:
        yield c
