"""The demo site's content: original stories of *The Harbor Ledger*, seeded once."""

from __future__ import annotations

from pathlib import Path

from meterwall.content.importers import collect
from meterwall.content.model import Article
from meterwall.content.store import ArticleStore
from meterwall.settings import Settings
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade

DEMO_ARTICLES = Path(__file__).with_name("demo_articles")
"""The bundled demo stories, one Markdown file each."""


def demo_articles() -> list[Article]:
    """The bundled demo stories, parsed (a bad bundled file is a packaging bug, so it raises)."""
    collected = collect([DEMO_ARTICLES])
    if collected.problems:
        raise RuntimeError("bundled demo articles are broken: " + "; ".join(collected.problems))
    return [article for article, _source in collected.articles]


async def seed_demo(settings: Settings) -> int:
    """Bring the database up to date and, if it has no articles yet, add the demo stories.

    Returns how many articles were added: 0 when the data already has
    articles, so restarting the demo keeps what is there.
    """
    upgrade(settings.resolved_database_url)
    engine = create_engine(settings.resolved_database_url)
    try:
        store = ArticleStore(engine)
        if await store.count() > 0:
            return 0
        return await store.save_all(
            (article, f"demo:{article.slug}") for article in demo_articles()
        )
    finally:
        await engine.dispose()
