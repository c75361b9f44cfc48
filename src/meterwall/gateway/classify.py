"""Classify phase: what an upstream response is, and whether it may carry article text.

The proxy's response path is classify -> decide -> cut -> verify.  This
module answers the first question for every response, before and after its
body is read:

``pass``
    Static assets (images, CSS, scripts, fonts, media, WebAssembly, binary
    downloads) and answers without a body: streamed through unchanged.
``page``
    An HTML document: analysed as a possible article page.
``feed``
    An XML feed or a JSON Feed: cut item by item (:mod:`~meterwall.gateway.feeds`).
``json``
    ``application/json`` and every ``+json`` type: WordPress REST, Ghost's
    Content API, Drupal's JSON:API, Next.js data routes, any site API.
``rsc``
    A React Server Components flight payload (``text/x-component``).
``text``
    ``text/plain``.
``fragment``
    HTML that is not a document (no doctype, ``<html>``, ``<head>``, ``<body>``,
    ``<title>`` or ``<meta>`` at its start):
    what ``X-Requested-With: XMLHttpRequest`` requests usually get.
``other``
    Any other text (Markdown, CSV, XML that is not a feed).

Every class but ``pass`` and ``page`` is a *representation*: when it may
carry article text (:func:`carries_prose`) a reader who is not entitled gets
it cut by a cutter that knows its shape, or refused; a class without a cutter
is refused by construction.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any, Literal

from meterwall.gateway.feeds import is_feed_type
from meterwall.gateway.text import strip_tags, structural

Kind = Literal["pass", "page", "feed", "json", "rsc", "text", "fragment", "other"]

REPRESENTATIONS: frozenset[Kind] = frozenset({"json", "rsc", "text", "fragment", "other"})
"""The classes that may carry an article's text outside its page."""

_HTML = frozenset({"", "text/html", "application/xhtml+xml"})
_NO_BODY = frozenset({204, 304})
_JSON_FEED = "application/feed+json"
_RSC = "text/x-component"
_ASSET_PREFIXES = ("image/", "font/", "audio/", "video/", "application/font-", "model/")
_ASSETS = frozenset(
    {
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "text/ecmascript",
        "application/wasm",
        "application/manifest+json",
        "application/octet-stream",
        "application/zip",
        "application/gzip",
        "application/vnd.ms-fontobject",
        "application/x-font-ttf",
        "application/x-font-woff",
    }
)
_SCRIPTS = frozenset(
    {
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "text/ecmascript",
    }
)
_JSONP = re.compile(r"(?:^|&)(?:_jsonp|jsonp|callback|jsoncallback|cb)=", re.IGNORECASE)
_SITE_METADATA = frozenset(
    {"/robots.txt", "/ads.txt", "/app-ads.txt", "/sellers.json", "/humans.txt", "/security.txt"}
)
_DOCUMENT = re.compile(rb"<(?:!doctype|html|head|body|title|meta)[\s>]", re.IGNORECASE)
_JSON_FEED_VERSION = re.compile(rb'"version"\s*:\s*"https?://jsonfeed\.org/version/')

PROSE_WORDS = 25
"""Words of running prose from which a response may carry article text."""
_SENTENCE_WORDS = 6
# The end of a sentence; what lies between two ends is a sentence (linear, no backtracking).
_SENTENCE_END = re.compile(r"[.!?]+(?=[\s\"'\u201d\u2019)\]]|$)")
_WORD = re.compile(r"\w+")


def asks_for_jsonp(target: str) -> bool:
    """Whether a request names a JSONP callback (``?_jsonp=``, ``?callback=`` ...): its
    script answer is data (a WordPress REST answer, say), not a static bundle."""
    query = target.partition("?")[2]
    return bool(query) and _JSONP.search(query) is not None


def kind_of(method: str, status: int, media: str, jsonp: bool = False) -> Kind:
    """The class of a response from its method, status and media type (before reading it).

    ``jsonp`` (:func:`asks_for_jsonp`) makes a script answer a representation
    (``other``) rather than a static asset.
    """
    if method == "HEAD" or status in _NO_BODY or status < 200:
        return "pass"
    if jsonp and media in _SCRIPTS:
        return "other"
    if media in _HTML:
        return "page"
    if media == _JSON_FEED or is_feed_type(media):
        return "feed"
    if media == "application/json" or media.endswith("+json") or media == "text/json":
        return "json"
    if media == _RSC:
        return "rsc"
    if media == "text/plain":
        return "text"
    if media in _ASSETS or media.startswith(_ASSET_PREFIXES):
        return "pass"
    if media.startswith("text/") or media.endswith("+xml") or media.endswith("/xml"):
        return "other"
    return "pass"


def is_site_metadata(path: str) -> bool:
    """Whether ``path`` is one of the files a site publishes about itself for machines
    (``robots.txt``, ``ads.txt``, ``/.well-known/``): never article text, always passed,
    since a crawler that is refused ``robots.txt`` takes the whole site as open."""
    return path in _SITE_METADATA or path.startswith("/.well-known/")


def refine(kind: Kind, body: bytes) -> Kind:
    """The class once the body is read: JSON that is a JSON Feed, HTML that is a fragment."""
    if kind == "json" and _JSON_FEED_VERSION.search(body[:4096]):
        return "feed"
    if kind == "page" and body.strip() and _DOCUMENT.search(body[:4096]) is None:
        return "fragment"
    return kind


def json_leaves(value: Any, key: str | None = None) -> Iterator[str]:
    """The text-carrying string values of a JSON document, in document order.

    Keys are left out, and so are structural values (rich-text type names,
    keys, marks, link targets: :func:`~meterwall.gateway.text.structural`),
    which would otherwise break a paragraph split into short runs apart.
    """
    if isinstance(value, str):
        if not structural(key, value):
            yield value
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from json_leaves(item, name if isinstance(name, str) else None)
    elif isinstance(value, list):
        for item in value:
            yield from json_leaves(item, key)


def load(body: str) -> Any:
    """``body`` parsed as JSON, or ``None`` when it is not JSON."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def leaves(kind: Kind, body: str) -> list[str]:
    """The pieces of text of a response as a reader's browser would show them."""
    if kind == "json" or kind == "feed":
        data = load(body)
        if data is not None:
            return list(json_leaves(data))
    if kind == "rsc":
        # Each flight row is "id:" and JSON, or a text row ("T" and a length) of raw text.
        found: list[str] = []
        for row in body.splitlines():
            payload = row.partition(":")[2]
            data = load(payload)
            found.extend(json_leaves(data) if data is not None else [payload])
        return found
    # Plain text wraps its lines: a paragraph is one piece, whatever its line breaks.
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip()]


def _joined(pieces: list[str]) -> str:
    """Pieces of text joined as a renderer would: runs split mid-sentence (rich-text marks,
    links) are glued back together, separate values stay on separate lines."""
    out: list[str] = []
    glue = False
    for piece in pieces:
        text = html.unescape(strip_tags(html.unescape(piece)))
        flowing = " ".join(text.split())
        if not flowing:
            continue
        if out:
            glued = glue or text[:1].isspace() or flowing[:1] in ",.;:!?"
            out.append(" " if glued else "\n")
        out.append(flowing)
        glue = text[-1:].isspace()
    return "".join(out)


def prose_words(pieces: list[str]) -> int:
    """Words in the sentences of ``pieces`` that are long enough to be running prose."""
    total = 0
    for line in _joined(pieces).split("\n"):
        start = 0
        for end in _SENTENCE_END.finditer(line):
            count = len(_WORD.findall(line, start, end.start()))
            start = end.end()
            if count >= _SENTENCE_WORDS:
                total += count
    return total


def carries_prose(kind: Kind, body: str) -> bool:
    """Whether a response of class ``kind`` may carry article text: running prose of
    several sentences (at least :data:`PROSE_WORDS` words), wherever it sits.

    It is judged on the text, not the path, so a site's own features (form
    answers, carts, title searches) keep working for every reader.
    """
    return prose_words(leaves(kind, body)) >= PROSE_WORDS
