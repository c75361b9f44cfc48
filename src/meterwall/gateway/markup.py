"""What a page says about itself: JSON-LD, Open Graph, canonical link, article metadata."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "reviewnewsarticle",
        "backgroundnewsarticle",
        "askpublicnewsarticle",
        "blogposting",
        "liveblogposting",
        "socialmediaposting",
        "scholarlyarticle",
        "techarticle",
        "report",
    }
)
"""schema.org types (case-folded) whose pages are articles."""

BODY_KEYS = ("articleBody", "text")
"""JSON-LD properties that carry an article's text."""


def jsonld_scripts(tree: LexborHTMLParser) -> list[LexborNode]:
    """Every ``<script type="application/ld+json">`` element."""
    return [
        s
        for s in tree.css("script[type]")
        if (s.attributes.get("type") or "").strip().casefold() == "application/ld+json"
    ]


def load_json(text: str) -> Any:
    """Parse JSON leniently (surrounding whitespace, HTML comment wrappers); ``None`` if invalid."""
    cleaned = text.strip()
    if cleaned.startswith("<!--"):
        cleaned = cleaned.removeprefix("<!--").removesuffix("-->").strip()
    try:
        return json.loads(cleaned)
    except (ValueError, RecursionError):
        return None


def objects(data: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``data``, depth first (``@graph`` members included)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def types_of(obj: dict[str, Any]) -> set[str]:
    """The case-folded ``@type`` names of a JSON-LD object."""
    raw = obj.get("@type")
    names = raw if isinstance(raw, list) else [raw]
    return {n.rsplit("/", 1)[-1].casefold() for n in names if isinstance(n, str)}


def is_article_object(obj: dict[str, Any]) -> bool:
    """Whether a JSON-LD object describes an article."""
    return not types_of(obj).isdisjoint(ARTICLE_TYPES)


def article_objects(tree: LexborHTMLParser) -> list[dict[str, Any]]:
    """The article objects of the page's JSON-LD."""
    found: list[dict[str, Any]] = []
    for script in jsonld_scripts(tree):
        data = load_json(script.text(deep=True))
        found.extend(o for o in objects(data) if is_article_object(o))
    return found


def meta(tree: LexborHTMLParser, *names: str) -> list[str]:
    """The ``content`` of ``<meta>`` tags whose ``property`` or ``name`` is one of ``names``."""
    wanted = {n.casefold() for n in names}
    values: list[str] = []
    for node in tree.css("meta[content]"):
        attrs = node.attributes
        key = (attrs.get("property") or attrs.get("name") or "").strip().casefold()
        if key in wanted:
            values.append((attrs.get("content") or "").strip())
    return [v for v in values if v]


def link_href(tree: LexborHTMLParser, rel: str) -> str:
    """The ``href`` of the first ``<link>`` whose ``rel`` includes ``rel``, or ``""``."""
    for node in tree.css("link[rel][href]"):
        rels = (node.attributes.get("rel") or "").casefold().split()
        if rel in rels:
            return (node.attributes.get("href") or "").strip()
    return ""


def is_amp(tree: LexborHTMLParser) -> bool:
    """Whether the page is an AMP document (``<html amp>`` or ``<html ⚡>``)."""
    root = tree.root
    if root is None:
        return False
    attrs = root.attributes
    return "amp" in attrs or "⚡" in attrs or "amp4ads" in attrs
