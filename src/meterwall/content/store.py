"""The article store: articles of the built-in site, in the configured database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import RowMapping, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.access.model import AccessLevel
from meterwall.content.model import Article, Block, Image
from meterwall.storage.schema import articles
from meterwall.storage.times import utc


def _image_to_json(image: Image | None) -> dict[str, str] | None:
    if image is None:
        return None
    return {"url": image.url, "credit": image.credit, "caption": image.caption, "alt": image.alt}


def _image_from_json(data: Mapping[str, Any] | None) -> Image | None:
    if not data:
        return None
    return Image(
        url=str(data.get("url", "")),
        credit=str(data.get("credit", "")),
        caption=str(data.get("caption", "")),
        alt=str(data.get("alt", "")),
    )


def _block_to_json(block: Block) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": block.kind}
    if block.text:
        data["text"] = block.text
    if block.attribution:
        data["attribution"] = block.attribution
    if block.image is not None:
        data["image"] = _image_to_json(block.image)
    return data


def _block_from_json(data: Mapping[str, Any]) -> Block:
    return Block(
        kind=data["kind"],
        text=str(data.get("text", "")),
        attribution=str(data.get("attribution", "")),
        image=_image_from_json(data.get("image")),
    )


def row_to_article(row: RowMapping) -> Article:
    """Rebuild an :class:`Article` from its stored row."""
    return Article(
        id=row["id"],
        slug=row["slug"],
        headline=row["headline"],
        dek=row["dek"],
        byline=row["byline"],
        section=row["section"],
        tags=tuple(row["tags"] or ()),
        published_at=utc(row["published_at"]) if row["published_at"] is not None else None,
        image=_image_from_json(row["image"]),
        body=tuple(_block_from_json(b) for b in row["body"]),
        access=AccessLevel(row["access"]),
        canonical_url=row["canonical_url"],
    )


def article_to_row(article: Article, source: str = "") -> dict[str, Any]:
    """The stored row of an :class:`Article`."""
    return {
        "id": article.id,
        "slug": article.slug,
        "headline": article.headline,
        "dek": article.dek,
        "byline": article.byline,
        "section": article.section,
        "tags": list(article.tags),
        "published_at": article.published_at,
        "image": _image_to_json(article.image),
        "body": [_block_to_json(b) for b in article.body],
        "access": article.access.value,
        "canonical_url": article.canonical_url,
        "source": source,
        "updated_at": datetime.now(UTC),
    }


class ArticleStore:
    """Read and write articles."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def by_slug(self, slug: str) -> Article | None:
        """The article with this slug (compared without regard to case), if any."""
        query = select(articles).where(articles.c.slug == slug.lower())
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return row_to_article(row) if row is not None else None

    async def by_ids(self, ids: Iterable[str]) -> dict[str, Article]:
        """The articles with these ids that exist, by id."""
        wanted = list(ids)
        if not wanted:
            return {}
        query = select(articles).where(articles.c.id.in_(wanted))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return {row["id"]: row_to_article(row) for row in rows}

    async def latest(self, limit: int = 50) -> list[Article]:
        """The most recently published articles, newest first."""
        query = (
            select(articles).order_by(articles.c.published_at.desc(), articles.c.slug).limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [row_to_article(row) for row in rows]

    async def count(self) -> int:
        """How many articles are stored."""
        async with self._engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(articles))).scalar_one()
            )

    async def save_all(self, items: Iterable[tuple[Article, str]]) -> int:
        """Insert or replace articles (with the source each came from) in one transaction.

        An article whose id or slug is already stored is replaced; either all
        are saved or none is.
        """
        rows = [article_to_row(article, source) for article, source in items]
        if not rows:
            return 0
        async with self._engine.begin() as conn:
            for row in rows:
                await conn.execute(
                    articles.delete().where(
                        (articles.c.id == row["id"]) | (articles.c.slug == row["slug"])
                    )
                )
                await conn.execute(articles.insert().values(**row))
        return len(rows)
