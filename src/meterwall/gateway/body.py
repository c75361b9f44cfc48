"""Finding an article's body in a page nobody described to us, and its lede.

The body is found the way a reader's eye finds it: the densest cluster of
prose paragraphs.  Every element is scored by how much qualifying paragraph
text it contains, less the other text it also contains (navigation, bylines,
captions, link lists, comment threads); the best-scoring element is the
body.  Nothing here depends on a particular CMS's class names: the few
patterns used only rule out boilerplate (comments, share bars, newsletters)
the way reader modes do.  A publisher can always name the body with a CSS
selector instead.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from meterwall.gateway.text import word_count
from meterwall.gateway.tree import RAW_TEXT, ancestors, class_and_id, common_ancestor, text_of

MIN_PARAGRAPH_CHARS = 40
"""A paragraph shorter than this is not evidence of a body (captions, datelines)."""

MAX_LINK_DENSITY = 0.4
"""A paragraph mostly made of links is a link list, not prose."""

MIN_BODY_CHARS = 280
"""Less qualifying prose than this, and a page has no article body to speak of."""

LEDE_MIN_WORDS = 8
"""The shortest paragraph that counts as the lede (shorter ones are kept before it)."""

BOILERPLATE_TAGS = frozenset(
    {"nav", "header", "footer", "aside", "form", "button", "figure", "figcaption", "dialog"}
)
_BOILERPLATE_ROLES = frozenset({"navigation", "complementary", "contentinfo", "banner", "search"})
_BOILERPLATE = re.compile(
    r"comment|disqus|respond|reply|share|social|newsletter|signup|sign-up|subscribe|promo|"
    r"related|recommend|popular|trending|sidebar|widget|outbrain|taboola|sponsor|"
    r"cookie|consent|breadcrumb|pagination|author-bio|byline|caption|credit",
)
_POSITIVE = re.compile(r"article-?body|articlebody|story-?body|post-?body|entry-content")
_BLOCK_TEXT_PARENTS = frozenset(
    {"div", "section", "article", "main", "td", "span", "font", "center", "body"}
)


def is_boilerplate(node: LexborNode) -> bool:
    """Whether ``node`` is page furniture rather than article text."""
    tag = node.tag or ""
    if tag in BOILERPLATE_TAGS or tag in RAW_TEXT:
        return True
    role = (node.attributes.get("role") or "").casefold()
    if role in _BOILERPLATE_ROLES:
        return True
    attrs = node.attributes
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    marks = class_and_id(node)
    return bool(marks.strip()) and bool(_BOILERPLATE.search(marks)) and not _POSITIVE.search(marks)


@dataclass(frozen=True, slots=True)
class _Paragraph:
    node: LexborNode
    container: LexborNode
    chars: int


def _link_chars(node: LexborNode) -> int:
    return sum(len(text_of(a)) for a in node.css("a"))


def _candidates(root: LexborNode) -> list[_Paragraph]:
    """Prose paragraphs under ``root``: ``<p>`` elements and bare text blocks."""
    found: list[_Paragraph] = []
    for node in root.traverse(include_text=True):
        if node.is_text_node:
            parent = node.parent
            if parent is None or parent.tag not in _BLOCK_TEXT_PARENTS:
                continue
            text = (node.text_content or "").strip()
            container = parent
        elif node.tag == "p":
            text = " ".join(text_of(node).split())
            container = node.parent or node
        else:
            continue
        if len(text) < MIN_PARAGRAPH_CHARS:
            continue
        if node.tag == "p" and _link_chars(node) > MAX_LINK_DENSITY * len(text):
            continue
        found.append(_Paragraph(node, container, len(text)))
    return found


def _prose(paragraphs: list[_Paragraph]) -> tuple[dict[int, int], dict[int, LexborNode]]:
    """Qualifying prose under each element that holds some, and the elements by id."""
    prose: dict[int, int] = defaultdict(int)
    nodes: dict[int, LexborNode] = {}
    for paragraph in paragraphs:
        for holder in (paragraph.container, *ancestors(paragraph.container)):
            prose[holder.mem_id] += paragraph.chars
            nodes[holder.mem_id] = holder
    return prose, nodes


def _without_furniture(paragraphs: list[_Paragraph]) -> list[_Paragraph]:
    """Drop paragraphs inside page furniture.

    Furniture that holds most of the page's prose is not furniture at all
    (a page-wide ``<form>``, a body hidden until a script reveals it), so it
    never rules out the body itself.
    """
    prose, _ = _prose(paragraphs)
    half = sum(p.chars for p in paragraphs) / 2
    kept = []
    for paragraph in paragraphs:
        chain = (
            [paragraph.node, *ancestors(paragraph.node)]
            if paragraph.node.tag == "p"
            else list(ancestors(paragraph.node))
        )
        if not any(prose.get(a.mem_id, 0) < half and is_boilerplate(a) for a in chain):
            kept.append(paragraph)
    return kept


def _text_lengths(root: LexborNode) -> dict[int, int]:
    """Rendered text length under each element, by element id."""
    totals: dict[int, int] = defaultdict(int)
    for node in root.traverse(include_text=True):
        if not node.is_text_node:
            continue
        length = len((node.text_content or "").strip())
        if not length:
            continue
        chain = list(ancestors(node))
        if any(a.tag in RAW_TEXT for a in chain):
            continue
        for ancestor in chain:
            totals[ancestor.mem_id] += length
    return totals


def _majority_article(
    tree: LexborHTMLParser, paragraphs: list[_Paragraph]
) -> tuple[LexborNode | None, list[_Paragraph]]:
    """The one ``<article>`` holding most of the prose, with its paragraphs (else all of them)."""
    total = sum(p.chars for p in paragraphs)
    for article in tree.css("article"):
        mine = [p for p in paragraphs if any(a.mem_id == article.mem_id for a in ancestors(p.node))]
        if sum(p.chars for p in mine) * 2 > total:
            return article, mine
    return None, paragraphs


def _paragraphs(tree: LexborHTMLParser) -> list[_Paragraph]:
    root = tree.body
    if root is None:
        return []
    paragraphs = _majority_article(tree, _without_furniture(_candidates(root)))[1]
    return paragraphs if sum(p.chars for p in paragraphs) >= MIN_BODY_CHARS else []


def main_article(tree: LexborHTMLParser) -> LexborNode | None:
    """The ``<article>`` element holding most of a page's prose, if the page has one."""
    root = tree.body
    if root is None:
        return None
    paragraphs = _without_furniture(_candidates(root))
    if sum(p.chars for p in paragraphs) < MIN_BODY_CHARS:
        return None
    return _majority_article(tree, paragraphs)[0]


def find_body(tree: LexborHTMLParser) -> LexborNode | None:
    """The element holding the article's body, found by paragraph density; ``None`` if none."""
    root = tree.body
    paragraphs = _paragraphs(tree)
    if root is None or not paragraphs:
        return None
    prose, nodes = _prose(paragraphs)
    totals = _text_lengths(root)
    best: LexborNode | None = None
    best_score = 0.0
    for key, node in nodes.items():
        if node.tag == "html":
            continue
        inside = prose[key]
        other = max(totals.get(key, 0) - inside, 0)
        score = float(inside - other)
        if _POSITIVE.search(class_and_id(node)) or node.attributes.get("itemprop") == "articleBody":
            score += 0.25 * inside
        if score > best_score:
            best, best_score = node, score
    return best


def select_body(tree: LexborHTMLParser, selector: str) -> LexborNode | None:
    """The body named by a publisher's CSS selector: the match, or the common ancestor of all."""
    matches = tree.css(selector)
    if len(matches) <= 1:
        return matches[0] if matches else None
    return common_ancestor(matches)


def lede_paragraphs(body: LexborNode) -> list[LexborNode]:
    """The body's paragraphs in document order: ``<p>`` elements and bare text blocks."""
    found: list[LexborNode] = []
    for node in body.traverse(include_text=True):
        if node.is_text_node:
            parent = node.parent
            if parent is None or parent.tag not in _BLOCK_TEXT_PARENTS:
                continue
            if _in_furniture(node, body) or word_count(node.text_content or "") < LEDE_MIN_WORDS:
                continue
            found.append(node)
        elif node.tag == "p" and not _in_furniture(node, body):
            found.append(node)
    return found


def _in_furniture(node: LexborNode, body: LexborNode) -> bool:
    """Whether ``node`` sits in a paragraph, figure, aside or the like inside ``body``."""
    for ancestor in ancestors(node):
        if ancestor.mem_id == body.mem_id:
            return False
        if ancestor.tag == "p" or is_boilerplate(ancestor):
            return True
    return False


def lede_end(body: LexborNode, paragraphs: int) -> LexborNode | None:
    """The last node of the lede: the ``paragraphs``-th body paragraph of eight words or more.

    Shorter paragraphs before it (datelines, update notes) are kept with it.
    ``None`` when the body has no paragraph at all.
    """
    candidates = lede_paragraphs(body)
    if not candidates:
        return None
    counted = 0
    for node in candidates:
        if word_count(text_of(node)) >= LEDE_MIN_WORDS:
            counted += 1
            if counted >= paragraphs:
                return node
    return candidates[min(paragraphs, len(candidates)) - 1]
