"""schema.org ``NewsArticle`` markup, built only from what the reader may see."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from meterwall.access.model import AccessLevel
from meterwall.content.model import Article, Block

PAYWALLED_SELECTOR = ".mw-paywalled"
"""The CSS selector of the element holding the body beyond the lede."""


def news_article(
    article: Article,
    shown: Sequence[Block],
    full_text: bool,
    url: str,
    publisher: str,
) -> dict[str, Any]:
    """The JSON-LD object for an article page.

    ``articleBody`` is present only when ``full_text`` is true, and then holds
    exactly the ``shown`` blocks.  Paywalled articles always say
    ``isAccessibleForFree: false`` and name the paywalled element, as search
    engines ask, whether or not this reader is gated.
    """
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.headline,
        "description": article.dek,
        "mainEntityOfPage": url,
        "url": url,
        "articleSection": article.section,
        "keywords": list(article.tags),
        "publisher": {"@type": "Organization", "name": publisher},
    }
    if article.byline:
        data["author"] = {"@type": "Person", "name": article.byline.removeprefix("By ").strip()}
    if article.published_at is not None:
        data["datePublished"] = article.published_at.isoformat()
    if article.image is not None and article.image.url:
        data["image"] = [article.image.url]
    if full_text:
        data["articleBody"] = "\n\n".join(b.text for b in shown if b.text)
    free = article.access is AccessLevel.FREE
    data["isAccessibleForFree"] = free
    if not free:
        data["hasPart"] = {
            "@type": "WebPageElement",
            "isAccessibleForFree": False,
            "cssSelector": PAYWALLED_SELECTOR,
        }
    return data


def script_json(data: dict[str, Any]) -> str:
    """JSON safe to place inside a ``<script>`` element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
