"""The bundled demo stories and their illustrations, and seeding them once."""

from __future__ import annotations

import tomllib
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from meterwall.access.model import AccessLevel
from meterwall.content.demo import demo_articles, seed_demo
from meterwall.content.model import Article
from meterwall.content.store import ArticleStore
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade
from tests.factories import make_article, make_settings

PACKAGE = Path(__file__).resolve().parents[3] / "src" / "meterwall"
STATIC = PACKAGE / "web" / "static"
DEMO_DAY = datetime(2026, 11, 27, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"

ARTICLES = demo_articles()


def words(article: Article) -> int:
    return sum(len(block.text.split()) for block in article.body if block.text)


def test_the_demo_has_the_mix_of_access_levels_a_meter_needs() -> None:
    levels = Counter(a.access for a in ARTICLES)
    assert len(ARTICLES) >= 10
    assert levels[AccessLevel.FREE] == 1
    assert levels[AccessLevel.PREMIUM] == 1
    assert levels[AccessLevel.METERED] >= 8
    exempt = [a for a in ARTICLES if a.section == "Obituaries"]
    assert [a.access for a in exempt] == [AccessLevel.METERED]


def test_slugs_ids_headlines_and_images_are_all_distinct() -> None:
    for values in (
        [a.slug for a in ARTICLES],
        [a.id for a in ARTICLES],
        [a.headline for a in ARTICLES],
        [a.image.url for a in ARTICLES if a.image],
    ):
        assert len(set(values)) == len(ARTICLES)


@pytest.mark.parametrize("article", ARTICLES, ids=[a.slug for a in ARTICLES])
def test_each_story_is_laid_out_like_a_news_page(article: Article) -> None:
    assert article.dek and article.byline.startswith("By ") and article.section and article.tags
    assert article.body[0].kind == "paragraph" and len(article.body[0].text.split()) >= 25
    assert 2 <= sum(b.kind == "subhead" for b in article.body) <= 3
    quotes = [b for b in article.body if b.kind == "quote"]
    assert quotes and all(q.text and q.attribution for q in quotes)
    assert 600 <= words(article) <= 1000
    assert article.published_at is not None
    assert DEMO_DAY - timedelta(days=35) < article.published_at < DEMO_DAY
    image = article.image
    assert image is not None
    assert image.credit == "Illustration: Harbor Ledger"
    assert image.caption and image.alt
    assert image.url.startswith("/static/img/") and image.url.endswith(".svg")
    assert (STATIC / image.url.removeprefix("/static/")).is_file()


def test_stories_are_staggered_over_the_weeks_before_the_demo_day() -> None:
    days = {a.published_at.date() for a in ARTICLES if a.published_at}
    assert len(days) == len(ARTICLES)


@pytest.mark.parametrize("path", sorted((STATIC / "img").glob("*.svg")), ids=lambda p: p.name)
def test_illustrations_are_small_self_contained_svgs(path: Path) -> None:
    assert path.stat().st_size < 12_000
    root = ET.fromstring(path.read_text(encoding="utf-8"))
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == "0 0 1200 675"
    tags = {element.tag.removeprefix(SVG) for element in root.iter()}
    assert not tags & {"text", "image", "script", "foreignObject", "use", "style"}
    for element in root.iter():
        for name, value in element.attrib.items():
            assert "href" not in name
            assert "http" not in value.replace("http://www.w3.org/2000/svg", "")


def test_the_package_ships_the_stories_and_the_illustrations() -> None:
    pyproject = tomllib.loads((PACKAGE.parents[1] / "pyproject.toml").read_text())
    shipped = pyproject["tool"]["setuptools"]["package-data"]["meterwall"]
    assert "content/demo_articles/*.md" in shipped
    assert "web/static/img/*" in shipped


async def test_seeding_adds_the_stories_once_and_keeps_existing_data(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)

    assert await seed_demo(settings) == len(ARTICLES)
    engine = create_engine(settings.resolved_database_url)
    store = ArticleStore(engine)
    await store.save_all([(make_article(1), "added by the publisher")])

    assert await seed_demo(settings) == 0
    assert await store.count() == len(ARTICLES) + 1
    assert await store.by_slug("story-1") == make_article(1)
    assert {a.slug for a in await store.latest(100)} >= {a.slug for a in ARTICLES}
    await engine.dispose()


async def test_a_data_folder_with_the_publishers_own_articles_gets_no_demo_stories(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    upgrade(settings.resolved_database_url)
    engine = create_engine(settings.resolved_database_url)
    store = ArticleStore(engine)
    await store.save_all([(make_article(1), "imported")])

    assert await seed_demo(settings) == 0
    assert await store.count() == 1
    await engine.dispose()


async def test_the_demo_front_page_lists_every_story_with_its_illustration(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(articles=ARTICLES)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        home = await client.get("/")
        image = await client.get(ARTICLES[0].image.url if ARTICLES[0].image else "")
    assert home.status_code == 200
    for article in ARTICLES:
        assert f'href="/articles/{article.slug}"' in home.text
    assert image.status_code == 200
    assert image.headers["content-type"].startswith("image/svg+xml")
