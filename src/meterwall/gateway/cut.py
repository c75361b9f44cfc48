"""Preparing one outcome of an analysed page: the full text, or the teaser with a gate.

:func:`prepare` does the per-outcome work once, independent of the reader:
it cuts the body after the lede, removes every other copy of the gated text
(JSON-LD, hydration state, ``<noscript>``, ``<template>``, encoded copies),
adds paywall markup, and leaves two empty slots where the reader's banner or
gate goes.  :meth:`Prepared.personalise` fills the slots per request, which
is cheap.  A teaser is verified byte for byte before it is returned; if any
gated text survived the surgery, a plain safe page is prepared instead.
"""

from __future__ import annotations

import html
import logging
import re
import secrets
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from meterwall.gateway.body import (
    HEADINGS,
    SHORT_WORDS,
    Paragraph,
    body_paragraphs,
    layout,
    lede,
)
from meterwall.gateway.config import PageRules
from meterwall.gateway.markup import load_json, meta, objects
from meterwall.gateway.page import Page
from meterwall.gateway.schema import PAYWALLED_CLASS, body_texts, mark
from meterwall.gateway.scrub import js_segments, scrub_tree, string_value
from meterwall.gateway.text import (
    RUN_BREAK,
    Fingerprint,
    join_runs,
    readings,
    string_values,
    word_count,
)
from meterwall.gateway.tree import (
    class_and_id,
    find,
    fragment,
    inside,
    remove_after,
    text_of,
)

log = logging.getLogger(__name__)

SLOT_TAG = "meterwall-slot"
_PROSE_WORDS = 40
_WORD = re.compile(r"\w+")

LEDE_SHARE = 0.4
"""The most of an article's words a lede may keep, so a "lede" is never half the story."""


@dataclass(frozen=True, slots=True)
class Assets:
    """How inserted banners and gates get their styles.

    ``stylesheet`` is the URL of meterwall's stylesheet for ordinary pages;
    ``amp_css`` is the same CSS, inlined into AMP pages (which allow no
    external stylesheets).
    """

    stylesheet: str
    amp_css: str


@dataclass(frozen=True, slots=True)
class Prepared:
    """One outcome of one page, for any reader: HTML with empty banner and gate slots."""

    html: str
    token: str
    full_text: bool
    fallback: bool = False

    def slot(self, kind: str) -> str:
        """The markup of the ``banner`` or ``gate`` slot."""
        return f'<{SLOT_TAG} data-slot="{kind}-{self.token}"></{SLOT_TAG}>'

    def personalise(self, banner: str = "", gate: str = "") -> str:
        """The page for one reader: the slots replaced by this reader's banner and gate."""
        return self.html.replace(self.slot("banner"), banner, 1).replace(self.slot("gate"), gate, 1)


def _class_add(node: LexborNode, name: str) -> None:
    classes = (node.attributes.get("class") or "").split()
    if name not in classes:
        node.attrs["class"] = " ".join([*classes, name])


def _cut_inside(paragraph: Paragraph, body: LexborNode, keep_words: int) -> list[str]:
    """Keep the first ``keep_words`` words of ``paragraph``, drop everything after in ``body``.

    Returns the text removed.
    """
    remaining = keep_words
    for text in paragraph.texts:
        content = text.text_content or ""
        count = word_count(content)
        if count <= remaining:
            remaining -= count
            continue
        ends = [m.end() for m in _WORD.finditer(content)]
        cut = ends[remaining - 1] if remaining else 0
        following = [n for n in remove_after(text, body) if not _page_furniture(n)]
        gated = [content[cut:], *(text_of(n) for n in following)]
        for node in following:
            node.decompose()
        text.replace_with(content[:cut] + " …")
        return gated
    return []


def _cut_body(body: LexborNode, rules: PageRules) -> tuple[list[str], list[str]]:
    """Cut ``body`` after its lede; return (gated texts, lede texts).

    The lede is counted in paragraphs (joined while shorter than
    :data:`~meterwall.gateway.body.LEDE_MIN_WORDS`) or, with
    ``policy.lede_words``, in words; either way it keeps at most
    ``proxy.lede_max_words`` words and at most :data:`LEDE_SHARE` of the body.
    """
    with_headings = body_paragraphs(body, headings=True)
    paragraphs = [p for p in with_headings if p.block.tag not in HEADINGS]
    total = sum(word_count(p.text) for p in paragraphs)
    cap = min(rules.lede_max_words, max(SHORT_WORDS, int(total * LEDE_SHARE)))
    if rules.lede_words > 0:
        cap = min(cap, rules.lede_words)
        chosen: list[Paragraph] = []
        words = 0
        for paragraph in paragraphs:
            chosen.append(paragraph)
            words += word_count(paragraph.text)
            if words >= cap:
                break
    else:
        chosen = lede(body, rules.lede_paragraphs, with_headings)
    kept: list[str] = []
    budget = cap
    for paragraph in chosen:
        text = paragraph.text
        count = word_count(text)
        if count > budget:
            gated = _cut_inside(paragraph, body, budget)
            kept.append(" ".join(_WORD.findall(text)[:budget]))
            return gated, kept
        kept.append(text)
        budget -= count
    end = chosen[-1].end if chosen else None
    removed = remove_after(end, body) if end is not None else list(body.iter(include_text=True))
    removed = [node for node in removed if not _page_furniture(node)]
    gated = [text_of(node) for node in removed]
    for node in removed:
        node.decompose()
    return gated, kept


_SITE_BOX = re.compile(
    r"share|social|related|recommend|comment|respond|disqus|newsletter|signup|subscribe|"
    r"promo|sponsor|popular|trending|widget|breadcrumb|pagination|author-bio|tags"
)
_SITE_TAGS = frozenset({"nav", "aside", "footer"})


def _page_furniture(node: LexborNode) -> bool:
    """Whether ``node``, found after the lede inside the body, is the site's and stays.

    Share bars, related links, comment threads and the like carry no article
    text.  Figures, captions, embeds and anything hidden (a client-side
    paywall's hidden body) belong to the story and go with it.
    """
    if not node.is_element_node:
        return False
    attrs = node.attributes
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return False
    return node.tag in _SITE_TAGS or bool(_SITE_BOX.search(class_and_id(node)))


_KEPT_FURNITURE = frozenset({"nav", "header", "footer", "aside"})
_KEPT_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search"})


def _kept_in_fail_closed(paragraph: Paragraph) -> bool:
    """Text a page gated whole still shows: the headline and the site's own furniture."""
    if paragraph.block.tag == "h1":
        return True
    furniture = paragraph.furniture
    if furniture is None:
        return False
    role = (furniture.attributes.get("role") or "").casefold()
    return furniture.tag in _KEPT_FURNITURE or role in _KEPT_ROLES


def _remove(paragraph: Paragraph) -> str:
    text = paragraph.text
    if paragraph.whole_block and paragraph.block.parent is not None:
        paragraph.block.decompose()
    else:
        for node in paragraph.texts:
            node.decompose()
    return text


def _gate_whole(tree: LexborHTMLParser) -> list[str]:
    """Fail closed: remove every text of the page but the headline and the site's furniture.

    For an article whose body could not be found: its text may be anywhere
    outside the navigation, header, footer and asides.  Returns the gated texts.
    """
    if tree.body is None:
        return []
    return [_remove(p) for p in layout(tree.body).paragraphs if not _kept_in_fail_closed(p)]


def _cut_other_posts(tree: LexborHTMLParser, body: LexborNode) -> list[str]:
    """On a listing showing full posts, remove the prose of the posts besides the body's."""
    if tree.body is None:
        return []
    return [
        _remove(p)
        for p in layout(tree.body).paragraphs
        if p.prose and not inside(p.block, body) and p.block.tag != "h1"
    ]


def _prose_in_scripts(tree: LexborHTMLParser) -> list[str]:
    """Long prose in a page's inline scripts, rich text runs joined: the body of a page a
    script renders."""
    found: list[str] = []
    for script in tree.css("script"):
        if script.attributes.get("src"):
            continue
        code = script.text(deep=True)
        data = load_json(code)
        if data is not None:
            values = [v for o in objects(data) for v in o.values() if isinstance(v, str)]
        else:
            values = [string_value(t) for kind, t in js_segments(code) if kind == "string"]
        found.extend(v for v in values if any(word_count(r) >= _PROSE_WORDS for r in readings(v)))
        # Rich text: paragraphs split into runs of a few words, each too short to count alone;
        # its sentences are the body when together they are as long as one prose string.
        sentences = [
            r for r in join_runs(string_values(code)).split(RUN_BREAK) if word_count(r) >= 8
        ]
        if sum(word_count(r) for r in sentences) >= _PROSE_WORDS:
            found.extend(sentences)
    return found


def _teaser_texts(tree: LexborHTMLParser, page: Page) -> list[str]:
    """Text a gated reader may see besides the lede: the headline in its several places.

    Descriptions are not among them: a description generated from the body
    can run past the lede, and is then cut like any other copy.
    """
    shown = [page.headline, *meta(tree, "og:title", "twitter:title")]
    for tag in ("title", "h1"):
        node = tree.css_first(tag)
        if node is not None:
            shown.append(node.text(deep=True))
    return shown


def _insert_slots(
    tree: LexborHTMLParser, body: LexborNode | None, prepared: Prepared, amp: bool
) -> None:
    banner = fragment(prepared.slot("banner"))
    gate = fragment(prepared.slot("gate"))
    if body is not None:
        body.insert_before(banner)
        if amp:
            # AMP runtimes may hide the body element (amp-subscriptions); keep the gate visible.
            body.insert_after(gate)
        else:
            body.insert_child(gate)
        return
    page_body = tree.body
    if page_body is None:
        return
    first = page_body.child
    if first is not None:
        first.insert_before(banner)
    else:
        page_body.insert_child(banner)
    anchor = tree.css_first("h1")
    if anchor is not None:
        anchor.insert_after(gate)
    else:
        page_body.insert_child(gate)


def _add_assets(tree: LexborHTMLParser, page: Page, assets: Assets) -> None:
    head = tree.head
    if head is None:
        return
    if not page.amp:
        href = html.escape(assets.stylesheet)
        head.insert_child(fragment(f'<link rel="stylesheet" href="{href}">'))
        return
    custom = next((s for s in tree.css("style") if "amp-custom" in s.attributes), None)
    if custom is None:
        head.insert_child(fragment(f"<style amp-custom>{assets.amp_css}</style>"))
    else:
        custom.insert_child(assets.amp_css)


def _fallback(page: Page, lede: list[str], assets: Assets, token: str) -> Prepared:
    """A plain page with the headline, the lede and the gate: used only if surgery failed."""
    title = html.escape(page.headline)
    paragraphs = "".join(f"<p>{html.escape(t.strip())}</p>" for t in lede if t.strip())
    prepared = Prepared(html="", token=token, full_text=False, fallback=True)
    document = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title>"
        f'<link rel="canonical" href="{html.escape(page.canonical)}">'
        f'<link rel="stylesheet" href="{html.escape(assets.stylesheet)}"></head>'
        f'<body><main class="mw-fallback">{prepared.slot("banner")}<h1>{title}</h1>'
        f'<div class="{PAYWALLED_CLASS}">{paragraphs}{prepared.slot("gate")}</div>'
        "</main></body></html>"
    )
    return Prepared(html=document, token=token, full_text=False, fallback=True)


def _cut(
    tree: LexborHTMLParser, page: Page, rules: PageRules
) -> tuple[LexborNode | None, Fingerprint, list[str]]:
    """Cut ``tree``'s body after its lede: the body, the fingerprint of the gated text
    (wherever it also hides), and the lede."""
    body = find(tree, page.body) if page.body is not None else None
    if body is not None:
        gated, lede = _cut_body(body, rules)
        if page.listing:
            gated += _cut_other_posts(tree, body)
    else:
        gated, lede = [*_prose_in_scripts(tree)], []
        gated += _gate_whole(tree)
    gated += body_texts(tree)
    return body, Fingerprint.of(gated, [*lede, *_teaser_texts(tree, page)]), lede


def gated_text(page: Page, rules: PageRules) -> Fingerprint:
    """The fingerprint of what a reader shown the teaser of ``page`` must not receive."""
    return _cut(page.tree(), page, rules)[1]


def _keep_server_rendered(tree: LexborHTMLParser) -> None:
    """Leave a React Server Components page (Next.js App Router) as the server rendered it.

    Its scripts would render the page again from the flight data, which no
    longer holds the body: the reader would get the framework's error page
    instead of the teaser and the gate.  Without them the page stays the
    server's HTML; its links are ordinary links.
    """
    flight = [s for s in tree.css("script:not([src])") if "self.__next_f" in s.text(deep=True)]
    if not flight:
        return
    for script in flight:
        script.decompose()
    for script in tree.css("script[src]"):
        if "/_next/static/" in (script.attributes.get("src") or ""):
            script.decompose()


def _prepare_teaser(page: Page, rules: PageRules, assets: Assets, token: str) -> Prepared:
    prepared = Prepared(html="", token=token, full_text=False)
    tree = page.tree()
    body, fingerprint, lede = _cut(tree, page, rules)
    mark(tree, page, teaser=" ".join(t.strip() for t in lede))
    summary = " ".join(" ".join(t.split()) for t in lede)
    scrub_tree(tree, fingerprint, page.headline, summary[:160] or page.headline)
    _keep_server_rendered(tree)
    if body is not None:
        _class_add(body, PAYWALLED_CLASS)
    _insert_slots(tree, body, prepared, page.amp)
    _add_assets(tree, page, assets)
    document = tree.html or ""
    if fingerprint.found_in(document):
        log.error("gated text survived cutting %s; serving the plain teaser page", page.canonical)
        return _fallback(page, lede, assets, token)
    return Prepared(html=document, token=token, full_text=False)


def _prepare_full(page: Page, assets: Assets, token: str) -> Prepared:
    prepared = Prepared(html="", token=token, full_text=True)
    tree = page.tree()
    body = find(tree, page.body) if page.body is not None else None
    mark(tree, page, teaser=None)
    if body is not None:
        _class_add(body, PAYWALLED_CLASS)
    _insert_slots(tree, body, prepared, page.amp)
    _add_assets(tree, page, assets)
    return Prepared(html=tree.html or "", token=token, full_text=True)


def prepare(page: Page, rules: PageRules, full_text: bool, assets: Assets) -> Prepared:
    """Prepare the full-text or the teaser outcome of ``page``, for any reader."""
    token = secrets.token_hex(8)
    if full_text:
        return _prepare_full(page, assets, token)
    return _prepare_teaser(page, rules, assets, token)
