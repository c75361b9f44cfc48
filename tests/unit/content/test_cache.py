"""The in-process article cache: fast repeats, and never staler than its time to live."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterwall.content.cache import CachedArticleStore
from meterwall.content.store import ArticleStore
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade
from tests.factories import make_article


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def database(folder: Path) -> str:
    url = f"sqlite+aiosqlite:///{folder / 'cache.db'}"
    upgrade(url)
    return url


async def test_a_change_made_elsewhere_shows_after_the_ttl(tmp_path: Path) -> None:
    url = database(tmp_path)
    engine = create_engine(url)
    clock = Clock()
    cached, elsewhere = CachedArticleStore(engine, ttl=5, clock=clock), ArticleStore(engine)
    original = make_article(1)
    await elsewhere.save_all([(original, "test")])
    assert await cached.by_slug("story-1") == original
    changed = replace(original, headline="Changed headline")
    await elsewhere.save_all([(changed, "import")])
    clock.now += 4.9
    assert (await cached.by_slug("STORY-1")) == original
    clock.now += 0.2
    assert await cached.by_slug("story-1") == changed
    await engine.dispose()


async def test_a_write_through_the_cache_shows_at_once(tmp_path: Path) -> None:
    engine = create_engine(database(tmp_path))
    cached = CachedArticleStore(engine, ttl=60, clock=Clock())
    await cached.save_all([(make_article(1), "test")])
    assert (await cached.by_slug("story-1")) is not None
    premium = replace(make_article(1), headline="Now for subscribers")
    await cached.save_all([(premium, "admin")])
    assert await cached.by_slug("story-1") == premium
    await engine.dispose()


async def test_unknown_slugs_are_not_remembered(tmp_path: Path) -> None:
    engine = create_engine(database(tmp_path))
    cached, elsewhere = CachedArticleStore(engine, ttl=60, clock=Clock()), ArticleStore(engine)
    assert await cached.by_slug("story-2") is None
    await elsewhere.save_all([(make_article(2), "import")])
    assert await cached.by_slug("story-2") == make_article(2)
    await engine.dispose()


async def test_the_oldest_entries_make_room(tmp_path: Path) -> None:
    engine = create_engine(database(tmp_path))
    cached = CachedArticleStore(engine, ttl=60, max_entries=2, clock=Clock())
    elsewhere = ArticleStore(engine)
    await elsewhere.save_all([(make_article(n), "test") for n in (1, 2, 3)])
    for n in (1, 2, 3):
        await cached.by_slug(f"story-{n}")
    changed = replace(make_article(1), headline="Evicted, so read again")
    await elsewhere.save_all([(changed, "import")])
    assert await cached.by_slug("story-1") == changed
    await engine.dispose()


operations = st.lists(
    st.one_of(
        st.tuples(st.just("read"), st.integers(1, 3)),
        st.tuples(st.just("write elsewhere"), st.integers(1, 3)),
        st.tuples(st.just("write here"), st.integers(1, 3)),
        st.tuples(st.just("wait"), st.floats(0, 4)),
    ),
    max_size=25,
)


@pytest.fixture(scope="module")
def shared_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return database(tmp_path_factory.mktemp("cache"))


@settings(max_examples=60, deadline=None)
@given(steps=operations)
def test_a_read_is_never_older_than_the_ttl(
    shared_url: str, steps: list[tuple[str, float]]
) -> None:
    asyncio.run(_replay(shared_url, uuid.uuid4().hex[:8], steps))


async def _replay(url: str, run_id: str, steps: list[tuple[str, float]]) -> None:
    ttl = 5.0
    engine = create_engine(url)
    clock = Clock()
    cached = CachedArticleStore(engine, ttl=ttl, max_entries=2, clock=clock)
    elsewhere = ArticleStore(engine)
    # Every version each slug has had, and when it stopped being current.
    history: dict[str, list[tuple[str, float]]] = {}
    version = 0
    for action, value in steps:
        if action == "wait":
            clock.now += value
            continue
        slug = f"{run_id}-{int(value)}"
        if action == "read":
            found = await cached.by_slug(slug)
            versions = history.get(slug, [])
            if not versions:
                assert found is None
                continue
            assert found is not None
            fresh_enough = {v for v, ended in versions if ended >= clock.now - ttl}
            assert found.headline in fresh_enough
            continue
        version += 1
        headline = f"version {version}"
        article = replace(make_article(int(value)), id=slug, slug=slug, headline=headline)
        store = cached if action == "write here" else elsewhere
        await store.save_all([(article, "test")])
        versions = history.setdefault(slug, [])
        if versions:
            # A write through the cache hides the old version at once; one made
            # elsewhere may still be seen for the time to live.
            ended = clock.now if store is elsewhere else float("-inf")
            versions[-1] = (versions[-1][0], ended)
        versions.append((headline, float("inf")))
    await engine.dispose()
