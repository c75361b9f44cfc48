"""Plain-text articles laid out like a copied news page.

The layout, blocks separated by blank lines::

    Headline
    Dek
    [By Byline]
    [https://example.org/photo.jpg]   optional image URL
    Photo credit                      a short line without closing punctuation,
    Caption                           directly followed by the caption
    Body paragraphs, with short unpunctuated lines as subheads
    and "> quote" / "> — Attribution" lines as pull quotes.

Copied pages often end with the publisher's meter and offer ("3 of 5 stories
this month > Get unlimited stories", "Subscribe to continue.", "Unlimited
digital access $11/month."): that trailing chrome is recognised and dropped.
The file may start with the same YAML front matter as a Markdown file; its
values win over what the layout gives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from meterwall.content.importers.errors import ImportProblem
from meterwall.content.importers.fields import build_article, check_image_url, clean
from meterwall.content.importers.frontmatter import Document, split
from meterwall.content.model import Article, Block

SUBHEAD_MAX_WORDS = 12
SUBHEAD_MAX_CHARS = 100
CREDIT_MAX_WORDS = 12

_TERMINAL = tuple(".!?:;,\u2026\"'\u201d\u2019)]")
_OPENING_QUOTES = tuple("\"'\u201c\u2018\u00ab")
_DASHES = ("\u2014", "\u2013", "\u2015", "--")
_BYLINE = re.compile(r"by\s+\S.{0,80}", re.IGNORECASE)
_URL = re.compile(r"(?:[a-z][a-z0-9+.-]*://|/)\S+", re.IGNORECASE)

_CHROME = tuple(
    re.compile(pattern)
    for pattern in (
        r"\d*\s*of\s*\d*\s*(free\s+)?(stories|articles)\b.*",
        r"you'?ve read\b.*\b(articles|stories)\b.*",
        r"(subscribe|sign in|log in|register)\b.{0,40}\bto (continue|keep reading)\b.*",
        r"(subscribe|subscribe now|subscribe today)\.?",
        r"already a subscriber\b.*",
        r"unlimited\b.{0,60}[$\u20ac\u00a3]\s?\d.*",
        r"get unlimited\b.{0,80}",
    )
)


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    text: str


def parse_text(text: str, timezone: str = "UTC") -> Article:
    """The article in a seed-style text file's ``text``; naive dates are in ``timezone``.

    Raises :class:`ImportProblem` naming the line of the first problem.
    """
    doc = split(text.replace("\r\n", "\n").replace("\r", "\n"))
    groups = drop_chrome(_groups(doc.body, doc.body_line))
    if not groups:
        raise ImportProblem("missing headline: the file has no text", doc.body_line)
    layout: dict[str, Any] = {}
    lines: dict[str, int] = {}
    first = groups.pop(0)
    layout["headline"], lines["headline"] = first[0].text, first[0].number
    if len(first) > 1:
        groups.insert(0, first[1:])
    header_end = first[0].number
    if groups and not _photo(groups[0]) and not _byline(groups[0]):
        dek = groups.pop(0)
        layout["dek"], lines["dek"] = " ".join(line.text for line in dek), dek[0].number
        header_end = dek[-1].number
    if groups and _byline(groups[0]):
        byline = groups.pop(0)
        layout["byline"], lines["byline"] = byline[0].text, byline[0].number
        header_end = byline[-1].number
    if groups and (photo := _photo(groups[0])) is not None:
        group = groups.pop(0)
        layout["image"], lines["image"] = photo, group[0].number
        header_end = group[-1].number
    blocks = [_block(group) for group in groups]
    body_line = groups[0][0].number if groups else header_end + 1
    merged = _merge(layout, doc.values)
    return build_article(
        Document(
            values=merged,
            lines={**lines, **doc.lines},
            body=doc.body,
            body_line=body_line,
        ),
        blocks,
        timezone,
    )


def drop_chrome(groups: list[list[_Line]]) -> list[list[_Line]]:
    """``groups`` without the paywall meter and offer lines a copied page ends with."""
    kept = [list(group) for group in groups]
    while kept:
        last = kept[-1]
        while last and is_chrome(last[-1].text):
            last.pop()
        if last:
            break
        kept.pop()
    return kept


def is_chrome(line: str) -> bool:
    """Whether ``line`` is a publisher's meter or offer rather than article text."""
    normal = clean(line).casefold().replace("\u2019", "'")
    return any(pattern.fullmatch(normal) for pattern in _CHROME)


def is_subhead(line: str) -> bool:
    """Whether a line standing alone reads as a subhead: short, no closing punctuation."""
    text = clean(line)
    return (
        0 < len(text) <= SUBHEAD_MAX_CHARS
        and len(text.split()) <= SUBHEAD_MAX_WORDS
        and not text.endswith(_TERMINAL)
        and not text.startswith(_OPENING_QUOTES)
        and any(ch.isalpha() for ch in text)
    )


def _groups(body: str, first_line: int) -> list[list[_Line]]:
    """Runs of non-blank lines, each line with its file line number."""
    groups: list[list[_Line]] = []
    current: list[_Line] = []
    for offset, raw in enumerate(body.split("\n")):
        text = clean(raw)
        if text:
            current.append(_Line(first_line + offset, text))
        elif current:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _byline(group: list[_Line]) -> bool:
    return len(group) == 1 and bool(_BYLINE.fullmatch(group[0].text)) and is_subhead(group[0].text)


def _photo(group: list[_Line]) -> dict[str, str] | None:
    """The image a ``[URL,] credit, caption`` group describes, or None if it is not one."""
    rest = list(group)
    url = ""
    if rest and _URL.fullmatch(rest[0].text):
        url = check_image_url(rest.pop(0).text, group[0].number)
    if len(rest) < 2:
        return None
    credit = rest[0].text
    if len(credit.split()) > CREDIT_MAX_WORDS or credit.endswith(_TERMINAL):
        return None
    caption = " ".join(line.text for line in rest[1:])
    return {"url": url, "credit": credit, "caption": caption}


def _block(group: list[_Line]) -> Block:
    texts = [line.text for line in group]
    if all(text.startswith(">") for text in texts):
        quoted = [text[1:].strip() for text in texts]
        quoted = [text for text in quoted if text]
        attribution = ""
        if len(quoted) > 1 and quoted[-1].startswith(_DASHES):
            attribution = quoted.pop().lstrip("".join(_DASHES) + "-").strip()
        if quoted:
            return Block("quote", " ".join(quoted), attribution)
    if len(texts) == 1 and is_subhead(texts[0]):
        return Block("subhead", texts[0])
    return Block("paragraph", " ".join(texts))


def _merge(layout: dict[str, Any], front: dict[str, Any]) -> dict[str, Any]:
    """Front-matter values over the layout's, image fields merged one by one."""
    merged = {**layout, **front}
    if "title" in front and "headline" not in front:
        del merged["headline"]
    image, given = layout.get("image"), front.get("image")
    if isinstance(image, dict) and isinstance(given, dict):
        merged["image"] = {**image, **given}
    return merged
