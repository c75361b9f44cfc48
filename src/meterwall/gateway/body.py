"""Finding an article's body in a page nobody described to us, and its lede.

The body is found the way a reader's eye finds it: the densest cluster of
prose paragraphs.  One walk over the page splits its text into paragraphs
(the text of a block element, or of a run between ``<br>`` tags) and notes
what lies in page furniture (navigation, comments, share bars, captions,
embeds).  Every container element is then scored by how much prose it holds,
less the other text it also holds; the best-scoring one is the body, widened
to its parent when ads or newsletter boxes split the prose over several
containers.  Nothing here depends on a particular CMS's class names: the few
patterns used only rule out boilerplate the way reader modes do.  A
publisher can always name the body with a CSS selector instead.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser, LexborNode

from meterwall.gateway.text import word_count
from meterwall.gateway.tree import RAW_TEXT, class_and_id, common_ancestor

MIN_PARAGRAPH_CHARS = 40
"""A paragraph shorter than this is not evidence of a body (captions, datelines)."""

MAX_LINK_DENSITY = 0.4
"""A paragraph mostly made of links is a link list, not prose."""

MIN_BODY_CHARS = 280
"""Less qualifying prose than this, and a page has no article body to speak of."""

LEDE_MIN_WORDS = 25
"""A lede shorter than this is joined with the next paragraph (a one-line opener)."""

SHORT_WORDS = 8
"""Paragraphs shorter than this (datelines, bylines, update notes) never make a lede alone."""

BOILERPLATE_TAGS = frozenset(
    {
        "nav",
        "header",
        "footer",
        "aside",
        "form",
        "button",
        "figure",
        "figcaption",
        "dialog",
        "iframe",
        "video",
        "audio",
        "select",
        "label",
    }
)
_BOILERPLATE_ROLES = frozenset({"navigation", "complementary", "contentinfo", "banner", "search"})
_BOILERPLATE = re.compile(
    r"comment|disqus|respond|reply|share|social|newsletter|signup|sign-up|subscribe|promo|"
    r"related|recommend|popular|trending|sidebar|widget|outbrain|taboola|sponsor|"
    r"cookie|consent|breadcrumb|pagination|author-bio|byline|caption|credit|"
    r"twitter-tweet|instagram-media|tiktok-embed|embed|gallery|slideshow|carousel|"
    r"video|player|teaser|read-?more|more-?stories|dateline|wp-caption|footnote-nav"
)
_POSITIVE = re.compile(r"article-?body|articlebody|story-?body|post-?body|entry-content")
_DEK = re.compile(r"\b(dek|standfirst|sub-?title|subhead(?:line)?|summary|intro|lead-?in|kicker)\b")

_BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "center",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "html",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
_BREAKS = frozenset({"br", "hr"})
_INLINE = frozenset({"span", "a", "b", "strong", "em", "i", "font", "small", "u", "time"})
MIN_BODY_SHARE = 0.3
"""The least share of the page's prose the body holds (a stray notice is never the body)."""
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_NOT_PROSE = HEADINGS | {"figcaption", "caption", "th", "dt", "summary", "button", "label"}
_CONTAINERS = frozenset({"div", "section", "article", "main", "td", "center", "form", "body"})
_PARAGRAPH_BLOCKS = frozenset({"p", "li", "blockquote", "pre", "dd", "dt"}) | HEADINGS


def is_boilerplate(node: LexborNode) -> bool:
    """Whether ``node`` is page furniture rather than article text."""
    return _boilerplate(node.tag or "", node.attributes)


def _boilerplate(tag: str, attrs: dict[str, str | None]) -> bool:
    if tag in BOILERPLATE_TAGS or tag in RAW_TEXT:
        return True
    if not attrs:
        return False
    role = (attrs.get("role") or "").casefold()
    if role in _BOILERPLATE_ROLES:
        return True
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    if tag in _INLINE:
        # A class on an inline element marks a line (a dateline span around the first
        # paragraph), not a box of furniture.
        return False
    marks = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".casefold()
    return bool(marks.strip()) and bool(_BOILERPLATE.search(marks)) and not _POSITIVE.search(marks)


@dataclass(slots=True)
class Paragraph:
    """A run of text a reader sees as one paragraph: a block's text between breaks.

    ``texts`` are its text nodes in document order; ``block`` the nearest
    block element holding them; ``furniture`` the outermost furniture element
    around it (``None`` when it is in the page's own text flow).
    """

    block: LexborNode
    texts: list[LexborNode] = field(default_factory=list)
    chars: int = 0
    link_chars: int = 0
    furniture: LexborNode | None = None
    dek: bool = False
    whole_block: bool = False
    """Whether the paragraph is all of a paragraph element (``<p>``, ``<li>``...)."""

    @property
    def text(self) -> str:
        """The paragraph's text, whitespace collapsed."""
        return " ".join(" ".join((t.text_content or "") for t in self.texts).split())

    @property
    def end(self) -> LexborNode:
        """The last node of the paragraph: its block when it is the whole block, else its text."""
        return self.block if self.whole_block else self.texts[-1]

    @property
    def prose(self) -> bool:
        """Whether it is evidence of a body: long enough, not a link list, heading or caption."""
        return (
            self.furniture is None
            and self.chars >= MIN_PARAGRAPH_CHARS
            and self.link_chars <= MAX_LINK_DENSITY * self.chars
            and self.block.tag not in _NOT_PROSE
        )


_State = tuple[LexborNode | None, LexborNode, bool, bool, bool]
"""Inherited by an element's content: furniture around it, its block, link, raw text, dek."""


@dataclass(slots=True)
class Layout:
    """One walk over a subtree: its paragraphs and the text held under each element."""

    root: LexborNode
    paragraphs: list[Paragraph]
    total: dict[int, int]
    parent: dict[int, int]
    nodes: dict[int, LexborNode]

    def prose_under(self, paragraphs: list[Paragraph]) -> dict[int, int]:
        """Prose characters of ``paragraphs`` under each element, by element id."""
        prose: dict[int, int] = defaultdict(int)
        for paragraph in paragraphs:
            key: int | None = paragraph.block.mem_id
            while key is not None:
                prose[key] += paragraph.chars
                key = self.parent.get(key)
        return prose


def layout(root: LexborNode) -> Layout:
    """Walk ``root`` once: its paragraphs in document order and text per element."""
    states: dict[int, _State] = {}
    parent_of: dict[int, int] = {}
    nodes: dict[int, LexborNode] = {root.mem_id: root}
    own: dict[int, int] = defaultdict(int)
    order: list[int] = []
    paragraphs: list[Paragraph] = []
    open_: dict[int, Paragraph] = {}
    # The root is what the caller asked about: never furniture, whatever its class says.
    states[root.mem_id] = (None, root, root.tag == "a", root.tag in RAW_TEXT, False)
    for node in root.traverse(include_text=True):
        parent = node.parent
        if parent is None:
            continue
        parent_key = parent.mem_id
        state = states.get(parent_key)
        if state is None:
            continue
        furniture, block, link, raw, dek = state
        if node.is_text_node:
            if raw:
                continue
            length = len((node.text_content or "").strip())
            if not length:
                continue
            own[parent_key] += length
            paragraph = open_.get(block.mem_id)
            if paragraph is None:
                paragraph = Paragraph(block=block, furniture=furniture, dek=dek)
                open_[block.mem_id] = paragraph
                paragraphs.append(paragraph)
            paragraph.texts.append(node)
            paragraph.chars += length
            if link:
                paragraph.link_chars += length
            continue
        if not node.is_element_node:
            continue
        tag = node.tag or ""
        key = node.mem_id
        nodes[key] = node
        parent_of[key] = parent_key
        order.append(key)
        if tag in _BREAKS:
            open_.pop(block.mem_id, None)
            continue
        if raw:
            states[key] = state
            continue
        if tag in _BLOCKS:
            open_.pop(block.mem_id, None)
            block = node
        attrs = node.attributes
        if furniture is None and _boilerplate(tag, attrs):
            furniture = node
        if not dek and attrs and tag in _BLOCKS:
            dek = _dek(attrs)
        states[key] = (furniture, block, link or tag == "a", tag in RAW_TEXT, dek)
    total = dict(own)
    for key in reversed(order):
        up = parent_of[key]
        total[up] = total.get(up, 0) + total.get(key, 0)
    per_block: dict[int, int] = defaultdict(int)
    for paragraph in paragraphs:
        per_block[paragraph.block.mem_id] += 1
    for paragraph in paragraphs:
        paragraph.whole_block = (
            paragraph.block.tag in _PARAGRAPH_BLOCKS and per_block[paragraph.block.mem_id] == 1
        )
    return Layout(root, paragraphs, total, parent_of, nodes)


def _dek(attrs: dict[str, str | None]) -> bool:
    marks = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
    return bool(marks.strip()) and bool(_DEK.search(marks.casefold()))


@dataclass(frozen=True, slots=True)
class Body:
    """The element found to hold an article's paragraphs, and how much prose it holds."""

    node: LexborNode
    prose_chars: int
    paragraphs: int
    run_chars: int = 0
    """Prose of the longest run of paragraphs side by side (a full post, not teaser cards)."""


def _outside_big_furniture(found: Layout) -> list[Paragraph]:
    """Prose paragraphs, dropping those in furniture unless that furniture holds most prose.

    Furniture that holds most of the page's prose is not furniture at all
    (a page-wide ``<form>``, a body hidden until a script reveals it).
    """
    candidates = [p for p in found.paragraphs if _prose_if_not_furniture(p)]
    half = sum(p.chars for p in candidates) / 2
    by_furniture: dict[int, int] = defaultdict(int)
    for paragraph in candidates:
        if paragraph.furniture is not None:
            by_furniture[paragraph.furniture.mem_id] += paragraph.chars
    kept = []
    for paragraph in candidates:
        furniture = paragraph.furniture
        if furniture is None:
            kept.append(paragraph)
        elif by_furniture[furniture.mem_id] > half and _may_hold_body(furniture):
            paragraph.furniture = None
            kept.append(paragraph)
    return kept


def _may_hold_body(furniture: LexborNode) -> bool:
    """Furniture that can wrap a whole page's text: anything but media, navigation and asides.

    A wrapper named for its layout (``content-sidebar-wrap``), a post whose
    tags are in its classes (``tag-social-media``), a page-wide ``<form>``,
    a body hidden until a script reveals it; never a comment thread, however
    long the discussion.
    """
    if furniture.tag in _NEVER_BODY:
        return False
    return not _DISCUSSION.search(class_and_id(furniture))


_DISCUSSION = re.compile(r"comment|respond|reply|disqus|discussion|forum|secondary")
_NEVER_BODY = frozenset(
    {"figure", "figcaption", "iframe", "video", "audio", "nav", "footer", "aside", "header"}
)


def _prose_if_not_furniture(paragraph: Paragraph) -> bool:
    return (
        paragraph.chars >= MIN_PARAGRAPH_CHARS
        and paragraph.link_chars <= MAX_LINK_DENSITY * paragraph.chars
        and paragraph.block.tag not in _NOT_PROSE
    )


def _container(node: LexborNode) -> bool:
    tag = node.tag or ""
    return tag in _CONTAINERS or "-" in tag


def locate_body(tree: LexborHTMLParser) -> Body | None:
    """The body element with its prose, found by paragraph density; ``None`` if there is none.

    The page's ``<body>`` itself is never the answer: a page whose prose is
    spread over all of it has no body this finder can cut safely.
    """
    root = tree.body
    if root is None:
        return None
    found = layout(root)
    paragraphs = _outside_big_furniture(found)
    if sum(p.chars for p in paragraphs) < MIN_BODY_CHARS:
        return None
    prose = found.prose_under(paragraphs)
    least = MIN_BODY_SHARE * sum(p.chars for p in paragraphs)
    best, best_score = -1, 0.0
    for key, inside in prose.items():
        node = found.nodes.get(key)
        if node is None or inside < least or not _container(node) or node.tag == "body":
            continue
        other = max(found.total.get(key, 0) - inside, 0)
        score = float(inside - other)
        if _positive(node):
            score += 0.25 * inside
        if score > best_score:
            best, best_score = key, score
    if best < 0:
        return None
    best = _widen(found, prose, best)
    node = found.nodes[best]
    inside_best = [p for p in paragraphs if _under(found, p.block.mem_id, best)]
    return Body(node, prose[best], len(inside_best), _longest_run(found, inside_best))


def _longest_run(found: Layout, paragraphs: list[Paragraph]) -> int:
    """Prose of the most prose-holding group of paragraphs sharing one parent, of 3 or more."""
    groups: dict[int, list[int]] = defaultdict(list)
    for paragraph in paragraphs:
        key = paragraph.block.mem_id
        holder = found.parent.get(key, key) if paragraph.whole_block else key
        groups[holder].append(paragraph.chars)
    return max((sum(g) for g in groups.values() if len(g) >= 3), default=0)


def _positive(node: LexborNode) -> bool:
    attrs = node.attributes
    if not attrs:
        return False
    return attrs.get("itemprop") == "articleBody" or bool(_POSITIVE.search(class_and_id(node)))


def _widen(found: Layout, prose: dict[int, int], best: int) -> int:
    """Climb from ``best`` while the parent adds a good share of prose (a body split by ads)."""
    while True:
        up = found.parent.get(best)
        if up is None:
            return best
        node = found.nodes.get(up)
        if node is None or node.tag in ("body", "html"):
            return best
        added = prose.get(up, 0) - prose.get(best, 0)
        added_other = found.total.get(up, 0) - found.total.get(best, 0) - added
        if added < 0.25 * prose.get(best, 0) or added_other > 2 * added:
            return best
        best = up


def _under(found: Layout, key: int, ancestor: int) -> bool:
    current: int | None = key
    while current is not None:
        if current == ancestor:
            return True
        current = found.parent.get(current)
    return False


def find_body(tree: LexborHTMLParser) -> LexborNode | None:
    """The element holding the article's body, found by paragraph density; ``None`` if none."""
    found = locate_body(tree)
    return found.node if found is not None else None


def select_body(tree: LexborHTMLParser, selector: str) -> LexborNode | None:
    """The body named by a publisher's CSS selector: the match, or the common ancestor of all."""
    matches = tree.css(selector)
    if len(matches) <= 1:
        return matches[0] if matches else None
    return common_ancestor(matches)


def body_paragraphs(body: LexborNode, headings: bool = False) -> list[Paragraph]:
    """The paragraphs of ``body`` a reader reads as the article, in document order.

    Captions, credits, embeds, gallery and video titles are left out, and so
    are headings unless ``headings`` is set.
    """
    found = layout(body)
    skipped = _NOT_PROSE - HEADINGS if headings else _NOT_PROSE
    return [
        p
        for p in found.paragraphs
        if p.furniture is None and p.block.tag not in skipped and word_count(p.text) > 0
    ]


def lede(
    body: LexborNode, paragraphs: int = 1, found: list[Paragraph] | None = None
) -> list[Paragraph]:
    """The lede: the first ``paragraphs`` real paragraphs of ``body``, with what precedes them.

    A paragraph under :data:`LEDE_MIN_WORDS` words is joined with the next
    one, unless a subhead (a heading, or a short line after real text)
    comes between them.  A dek never counts; short lines before the first
    real paragraph (dateline, byline, update note) are kept with it.  Empty
    when the body has no paragraph.  ``found`` is ``body_paragraphs(body,
    headings=True)`` when the caller has it already.
    """
    kept: list[Paragraph] = []
    counted, words, real = 0, 0, False
    for paragraph in found if found is not None else body_paragraphs(body, headings=True):
        count = word_count(paragraph.text)
        heading = paragraph.block.tag in HEADINGS
        if real and (heading or count < SHORT_WORDS):
            counted, words, real = counted + 1, 0, False
            if counted >= paragraphs:
                return kept
        kept.append(paragraph)
        if heading or paragraph.dek or paragraph.link_chars * 2 > paragraph.chars:
            continue
        words += count
        real = real or count >= SHORT_WORDS
        if words >= LEDE_MIN_WORDS:
            counted, words, real = counted + 1, 0, False
            if counted >= paragraphs:
                return kept
    return kept if counted or words else []


def lede_paragraphs(body: LexborNode) -> list[LexborNode]:
    """The last node of each of the body's paragraphs, in document order."""
    return [p.end for p in body_paragraphs(body)]


def lede_end(body: LexborNode, paragraphs: int) -> LexborNode | None:
    """The last node of the lede (see :func:`lede`); ``None`` when the body has no paragraph."""
    found = lede(body, paragraphs)
    return found[-1].end if found else None
