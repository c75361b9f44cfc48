"""The page's schema.org markup: paywall markup added, ``articleBody`` cut for gated readers.

Search engines ask paywalled pages to say ``isAccessibleForFree: false`` and
to name the paywalled element with ``hasPart.cssSelector``; meterwall says it
on every non-free article it serves, for every reader, and names the body
element it marked with :data:`PAYWALLED_CLASS`.
"""

from __future__ import annotations

from typing import Any

from selectolax.lexbor import LexborHTMLParser

from meterwall.access.model import AccessLevel
from meterwall.gateway.markup import (
    BODY_KEYS,
    is_article_object,
    jsonld_scripts,
    load_json,
    objects,
)
from meterwall.gateway.page import Page
from meterwall.gateway.scrub import script_json
from meterwall.gateway.tree import fragment, set_text

PAYWALLED_CLASS = "mw-paywalled"
PAYWALLED_SELECTOR = f".{PAYWALLED_CLASS}"


def paywall_part() -> dict[str, Any]:
    """The ``hasPart`` value naming the paywalled element."""
    return {
        "@type": "WebPageElement",
        "isAccessibleForFree": False,
        "cssSelector": PAYWALLED_SELECTOR,
    }


def body_texts(tree: LexborHTMLParser) -> list[str]:
    """Every ``articleBody``/``text`` value of the page's article markup."""
    texts: list[str] = []
    for script in jsonld_scripts(tree):
        for obj in objects(load_json(script.text(deep=True))):
            if is_article_object(obj):
                texts.extend(v for k in BODY_KEYS if isinstance(v := obj.get(k), str))
    return texts


def _edit(obj: dict[str, Any], paywalled: bool, teaser: str | None) -> None:
    if teaser is not None:
        for key in BODY_KEYS:
            if key in obj:
                obj[key] = teaser
    if paywalled:
        obj["isAccessibleForFree"] = False
        obj["hasPart"] = paywall_part()


def mark(tree: LexborHTMLParser, page: Page, teaser: str | None) -> None:
    """Add paywall markup (non-free articles) and, when ``teaser`` is given, cut the body to it.

    A page with no article markup at all gets a minimal ``NewsArticle``
    object, so search engines still learn that it is paywalled.
    """
    paywalled = page.article.access is not AccessLevel.FREE
    found = False
    for script in jsonld_scripts(tree):
        data = load_json(script.text(deep=True))
        articles = [o for o in objects(data) if is_article_object(o)]
        if not articles:
            continue
        found = True
        for obj in articles:
            _edit(obj, paywalled, teaser)
        set_text(script, script_json(data))
    if found or not paywalled:
        return
    head = tree.head
    if head is None:
        return
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": page.headline,
        "url": page.canonical,
        "mainEntityOfPage": page.canonical,
        "isAccessibleForFree": False,
        "hasPart": paywall_part(),
    }
    head.insert_child(fragment(f'<script type="application/ld+json">{script_json(data)}</script>'))
