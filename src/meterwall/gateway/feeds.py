"""RSS, RDF and Atom feeds cut to the lede, for every reader.

A feed reader cannot be metered (it fetches without the reader's cookie),
so every item's text fields keep their lede and lose the rest, the way the
built-in site's own feed does.  Titles, links, dates and enclosures stay.
The XML parser never loads DTDs, resolves entities or touches the network.
"""

from __future__ import annotations

import html
import re

from lxml import etree

from meterwall.gateway.text import word_count
from meterwall.gateway.tree import parse

_TEXT_FIELDS = frozenset({"description", "encoded", "content", "summary", "body", "fulltext"})
_ITEMS = frozenset({"item", "entry"})
_FEEDS = frozenset({"rss", "feed", "rdf"})
_MIN_WORDS = 8
_BLANK_LINES = re.compile(r"\n\s*\n|<br\s*/?>\s*<br\s*/?>", re.IGNORECASE)


def local_name(tag: object) -> str:
    """An XML tag's local name, case-folded (no namespace)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].casefold()


def _paragraphs(markup: str) -> list[str]:
    """The paragraphs of an HTML or plain-text field, as plain text."""
    if "<" in markup:
        tree = parse(f"<body>{markup}</body>")
        found = [" ".join(p.text(deep=True).split()) for p in tree.css("p")]
        found = [p for p in found if p]
        if found:
            return found
        body = tree.body
        text = body.text(deep=True, separator="\n\n") if body is not None else ""
    else:
        text = markup
    return [" ".join(part.split()) for part in _BLANK_LINES.split(text) if part.strip()]


def lede_of(markup: str, paragraphs: int = 1, words: int = 0) -> list[str]:
    """The lede of one feed field: ``paragraphs`` paragraphs of eight words or more, or
    the first ``words`` words when ``words`` is set."""
    found = _paragraphs(markup)
    if words > 0:
        kept: list[str] = []
        budget = words
        for paragraph in found:
            tokens = paragraph.split()
            if len(tokens) > budget:
                kept.append(" ".join(tokens[:budget]) + " …")
                break
            kept.append(paragraph)
            budget -= len(tokens)
            if budget <= 0:
                break
        return kept
    kept = []
    counted = 0
    for paragraph in found:
        kept.append(paragraph)
        if word_count(paragraph) >= _MIN_WORDS:
            counted += 1
            if counted >= paragraphs:
                break
    return kept


def _cut_field(field: etree._Element, paragraphs: int, words: int) -> None:
    kind = (field.get("type") or "").casefold()
    markup = field.text or ""
    nested = len(field) > 0
    if nested:
        markup += "".join(
            etree.tostring(child, encoding="unicode", method="html", with_tail=True)
            for child in field
        )
        for child in list(field):
            field.remove(child)
        field.text = None
    lede = lede_of(markup, paragraphs, words)
    if kind == "xhtml":
        holder = etree.SubElement(field, "{http://www.w3.org/1999/xhtml}div")
        for text in lede:
            etree.SubElement(holder, "{http://www.w3.org/1999/xhtml}p").text = text
    elif nested or "<" in markup or kind == "html":
        field.text = "".join(f"<p>{html.escape(t, quote=False)}</p>" for t in lede)
    else:
        field.text = "\n\n".join(lede)


class FeedError(Exception):
    """A document that looks like a feed but cannot be read, even leniently."""


_FEED_START = (b"<rss", b"<feed", b"<rdf:rdf", b"<rdf")


def _parse(document: bytes) -> etree._Element | None:
    for recover in (False, True):
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            strip_cdata=False,
            recover=recover,
        )
        try:
            root = etree.fromstring(document, parser=parser)
        except etree.XMLSyntaxError:
            continue
        if root is not None:
            return root
    return None


def cut_feed(document: bytes, paragraphs: int = 1, words: int = 0) -> bytes | None:
    """The feed with every item cut to its lede; ``None`` if ``document`` is not a feed.

    A broken feed is read leniently; one that cannot be read at all raises
    :class:`FeedError` rather than being passed on whole.
    """
    root = _parse(document)
    if root is None:
        if any(mark in document[:4096].lower() for mark in _FEED_START):
            raise FeedError("the feed cannot be parsed")
        return None
    if local_name(root.tag) not in _FEEDS:
        return None
    items = [e for e in root.iter() if local_name(e.tag) in _ITEMS]
    for item in items:
        for field in list(item):
            if local_name(field.tag) in _TEXT_FIELDS:
                _cut_field(field, paragraphs, words)
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8")


def is_feed_type(media_type: str) -> bool:
    """Whether a response's media type may be a feed (checked again by parsing)."""
    return media_type in (
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "application/feed+xml",
    )
