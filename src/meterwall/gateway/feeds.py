"""RSS, RDF, Atom, Media RSS and JSON Feed feeds cut to the lede, for every reader.

A feed reader cannot be metered (it fetches without the reader's cookie),
so every item's text keeps its lede and loses the rest, the way the
built-in site's own feed does.  What is kept whole is an allow-list of
structural fields (titles, links, ids, dates, authors, categories,
enclosures and media references); every other text at any depth below an
item or entry (``media:group/media:description``, ``itunes:summary``,
extension elements, JSON Feed's ``content_html``, ``content_text``,
``summary`` and extension objects) is cut.  The XML parser never loads
DTDs, resolves entities or touches the network.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from lxml import etree

from meterwall.gateway.text import word_count
from meterwall.gateway.tree import parse

_TEXT_FIELDS = frozenset({"description", "encoded", "content", "summary", "body", "fulltext"})
_ITEMS = frozenset({"item", "entry"})
_KEEP = frozenset(
    {
        "title",
        "link",
        "guid",
        "id",
        "pubdate",
        "published",
        "updated",
        "date",
        "modified",
        "issued",
        "created",
        "author",
        "contributor",
        "creator",
        "name",
        "email",
        "uri",
        "category",
        "subject",
        "keywords",
        "enclosure",
        "comments",
        "commentrss",
        "source",
        "rights",
        "copyright",
        "license",
        "language",
        "identifier",
        "thumbnail",
        "credit",
        "rating",
        "player",
        "hash",
        "restriction",
        "duration",
        "explicit",
        "image",
        "episode",
        "season",
        "episodetype",
        "block",
    }
)
_MEDIA_NS = "http://search.yahoo.com/mrss/"
_MEDIA_HOLDERS = frozenset({"content", "group"})
_JSON_FEED_KEEP = frozenset(
    {
        "id",
        "url",
        "external_url",
        "title",
        "image",
        "banner_image",
        "date_published",
        "date_modified",
        "authors",
        "author",
        "name",
        "avatar",
        "tags",
        "language",
        "attachments",
        "mime_type",
        "size_in_bytes",
        "duration_in_seconds",
    }
)
_JSON_FEED_TYPES = frozenset({"application/feed+json"})
_FEEDS = frozenset({"rss", "feed", "rdf"})
_MIN_WORDS = 8
_BLANK_LINES = re.compile(r"\n\s*\n|<br\s*/?>\s*<br\s*/?>", re.IGNORECASE)


class FeedError(Exception):
    """A document that looks like a feed but cannot be read, even leniently."""


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


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _mixed(element: etree._Element) -> bool:
    """Whether ``element`` holds text between its children (HTML-like content)."""
    if (element.text or "").strip():
        return True
    return any((child.tail or "").strip() for child in element)


def _cut_item(item: etree._Element, paragraphs: int, words: int) -> None:
    """Cut every text below ``item`` except the allow-listed structural fields."""
    stack = list(item)
    while stack:
        element = stack.pop()
        if not isinstance(element.tag, str):
            # Comments and processing instructions carry no feed data, but may carry text.
            parent = element.getparent()
            if parent is not None:
                parent.remove(element)
            continue
        name = local_name(element.tag)
        holder = _namespace(element.tag) == _MEDIA_NS and name in _MEDIA_HOLDERS
        if holder or (name in _KEEP and name not in _TEXT_FIELDS):
            stack.extend(element)
        elif name in _TEXT_FIELDS or not len(element) or _mixed(element):
            _cut_field(element, paragraphs, words)
        else:
            stack.extend(element)


def _cut_json_value(value: Any, paragraphs: int, words: int) -> Any:
    if isinstance(value, str):
        return _cut_text(value, paragraphs, words)
    if isinstance(value, list):
        return [_cut_json_value(v, paragraphs, words) for v in value]
    if isinstance(value, dict):
        return {k: _cut_json_entry(k, v, paragraphs, words) for k, v in value.items()}
    return value


def _cut_json_entry(key: str, value: Any, paragraphs: int, words: int) -> Any:
    if key in _JSON_FEED_KEEP:
        return _keep_structure(value, paragraphs, words)
    return _cut_json_value(value, paragraphs, words)


def _keep_structure(value: Any, paragraphs: int, words: int) -> Any:
    """Allow-listed JSON Feed values: kept, but any nested free text is cut."""
    if isinstance(value, list):
        return [_keep_structure(v, paragraphs, words) for v in value]
    if isinstance(value, dict):
        return {k: _cut_json_entry(k, v, paragraphs, words) for k, v in value.items()}
    return value


def _cut_text(text: str, paragraphs: int, words: int) -> str:
    lede = lede_of(text, paragraphs, words)
    if "<" in text:
        return "".join(f"<p>{html.escape(t, quote=False)}</p>" for t in lede)
    return "\n\n".join(lede)


def is_json_feed(data: Any) -> bool:
    """Whether parsed JSON is a JSON Feed (its ``version`` names jsonfeed.org)."""
    version = data.get("version") if isinstance(data, dict) else None
    return isinstance(version, str) and "jsonfeed.org" in version


def cut_json_feed(document: bytes, paragraphs: int = 1, words: int = 0) -> bytes | None:
    """A JSON Feed with every item cut to its lede; ``None`` if ``document`` is not one.

    Kept whole: ids, URLs, titles, dates, authors, tags and attachments;
    ``content_html``, ``content_text``, ``summary`` and every other string
    of an item (extension objects included) keep their lede only.
    """
    try:
        data = json.loads(document)
    except (ValueError, RecursionError) as exc:
        raise FeedError("the JSON feed cannot be parsed") from exc
    if not is_json_feed(data):
        return None
    items = data.get("items")
    if isinstance(items, list):
        data["items"] = [
            {k: _cut_json_entry(k, v, paragraphs, words) for k, v in item.items()}
            if isinstance(item, dict)
            else _cut_json_value(item, paragraphs, words)
            for item in items
        ]
    return json.dumps(data, ensure_ascii=False).encode()


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

    XML feeds and JSON Feed are both read (:func:`cut_json_feed`).

    A broken feed is read leniently; one that cannot be read at all raises
    :class:`FeedError` rather than being passed on whole.
    """
    if document.lstrip()[:1] == b"{":
        return cut_json_feed(document, paragraphs, words)
    root = _parse(document)
    if root is None:
        if any(mark in document[:4096].lower() for mark in _FEED_START):
            raise FeedError("the feed cannot be parsed")
        return None
    if local_name(root.tag) not in _FEEDS:
        return None
    items = [e for e in root.iter() if local_name(e.tag) in _ITEMS]
    for item in items:
        _cut_item(item, paragraphs, words)
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8")


def is_feed_type(media_type: str) -> bool:
    """Whether a response's media type may be a feed (checked again by parsing)."""
    return (
        media_type
        in (
            "application/rss+xml",
            "application/atom+xml",
            "application/rdf+xml",
            "application/xml",
            "text/xml",
            "application/feed+xml",
        )
        or media_type in _JSON_FEED_TYPES
    )
