"""Content domain: articles as the newsroom writes them.

Glossary
--------
Block
    One piece of an article body: a paragraph, a subhead, a pull quote or an image.
Lede
    The opening of the body a reader who is not entitled still sees: the first
    paragraph, or the first N words when the policy says so.
Teaser
    Headline, dek, lead image with credit and caption, and the lede.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from meterwall.access.model import AccessLevel, ArticleAccess

BlockKind = Literal["paragraph", "subhead", "quote", "image"]


@dataclass(frozen=True, slots=True)
class Image:
    """A photo with its credit and caption."""

    url: str
    credit: str = ""
    caption: str = ""
    alt: str = ""


@dataclass(frozen=True, slots=True)
class Block:
    """One block of an article body.

    ``text`` is plain text (paragraph, subhead, quote); a quote may carry an
    ``attribution``; an image block carries ``image``.
    """

    kind: BlockKind
    text: str = ""
    attribution: str = ""
    image: Image | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """A news article as stored and served by the built-in site."""

    id: str
    slug: str
    headline: str
    dek: str = ""
    byline: str = ""
    section: str = ""
    tags: tuple[str, ...] = ()
    published_at: datetime | None = None
    image: Image | None = None
    body: tuple[Block, ...] = field(default_factory=tuple)
    access: AccessLevel = AccessLevel.METERED
    canonical_url: str = ""

    def access_facts(self) -> ArticleAccess:
        """The facts access decisions depend on."""
        return ArticleAccess(
            id=self.id,
            access=self.access,
            section=self.section.casefold(),
            tags=frozenset(t.casefold() for t in self.tags),
        )

    def text_blocks(self) -> list[str]:
        """Every piece of body text, in order (for leak checks and feeds)."""
        return [b.text for b in self.body if b.text] + [
            b.image.caption for b in self.body if b.image is not None and b.image.caption
        ]
