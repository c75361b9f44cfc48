"""Page analysis: is this upstream page an article, which one, and where is its body?

:func:`analyse` is the expensive, reader-independent half of gating a page.
Its result, a :class:`Page`, depends only on the upstream HTML and the
settings, so it can be cached by canonical URL and reused for every reader;
:mod:`meterwall.gateway.cut` then prepares each outcome from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from meterwall.access.model import AccessLevel, ArticleAccess
from meterwall.gateway.body import Body, locate_body, select_body
from meterwall.gateway.config import PageRules
from meterwall.gateway.markup import (
    article_objects,
    is_amp,
    jsonld_scripts,
    link_href,
    load_json,
    meta,
    objects,
    types_of,
)
from meterwall.gateway.tree import Locator, inside, locate, parse

_TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|_gl|ref|ref_src|cmpid|"
    r"smid|share|output|outputtype|amp|print|preview|_preview|view|mode|page)$",
    re.IGNORECASE,
)
_VARIANT_SUFFIX = re.compile(r"(/amp|/print|/_preview|/preview|\.amp)/?$", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LISTING_TYPES = frozenset({"itemlist", "collectionpage", "searchresultspage", "blog"})
_DATED_PATH = re.compile(r"/(19|20)\d\d[/-](0?[1-9]|1[0-2])\b|[\w%]+(-[\w%]+){3,}|\d{5,}")
_DATE_SIGNALS = (
    "time[datetime], [itemprop=datePublished], [itemprop=author], [rel=author], "
    "meta[property='article:published_time'], meta[name=author], meta[name=date]"
)
_CARD_HEADINGS = "h2 a[href], h3 a[href], h4 a[href]"

LISTING_CARDS = 4
"""Headings that are links (teaser cards) from which a page is a listing."""

FULL_POST_CHARS = 600
"""Prose in paragraphs side by side from which a listing shows a full post, gated like an
article so it cannot leak (teaser cards hold a paragraph or two each)."""

UNMARKED_ARTICLE_CHARS = 1000
"""Prose a page without article markup needs, with a headline, to be taken for an article."""

DATED_ARTICLE_CHARS = 500
"""Prose a page without article markup needs when a date, byline or article-like URL backs it."""


@dataclass(frozen=True, slots=True)
class Page:
    """An upstream article page, analysed once for every reader.

    ``html`` is the upstream document as text; ``body`` locates the body
    element (``None`` when the page carries no body in its markup, as a
    client-rendered page may not); ``amp`` marks AMP documents.
    """

    html: str
    url: str
    article: ArticleAccess
    headline: str
    body: Locator | None
    amp: bool
    listing: bool = False
    parsed: list[LexborHTMLParser] = field(default_factory=list, compare=False, repr=False)
    """The tree analysis parsed, handed to the first :meth:`tree` call (one parse per page)."""

    def tree(self) -> LexborHTMLParser:
        """A fresh tree of ``html`` to change: the analysed one the first time, then a new parse."""
        return self.parsed.pop() if self.parsed else parse(self.html)

    @property
    def canonical(self) -> str:
        """The article's identity: its canonical URL."""
        return self.article.id


def _matches(patterns: tuple[re.Pattern[str], ...], path: str) -> bool:
    return any(p.search(path) for p in patterns)


def normalise_url(url: str, *, fold_case: bool = False, strip_variant: bool = False) -> str:
    """One spelling of ``url``: lower-case scheme and host, no default port, fragment,
    tracking or variant parameters, or trailing slash; remaining parameters sorted.

    ``fold_case`` also lower-cases the path and ``strip_variant`` drops a
    trailing ``/amp`` or ``/print``: both only for URLs that came from the
    request rather than from the page's own canonical link.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.casefold() or "http"
    host = (parts.hostname or "").casefold()
    port = parts.port if parts.port and parts.port != _DEFAULT_PORTS.get(scheme) else None
    netloc = f"[{host}]" if ":" in host else host
    if port:
        netloc += f":{port}"
    path = parts.path or "/"
    if strip_variant:
        path = _VARIANT_SUFFIX.sub("", path) or "/"
    if fold_case:
        path = path.casefold()
    while "//" in path:
        path = path.replace("//", "/")
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    )
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def to_public(url: str, rules: PageRules) -> str:
    """``url`` with the upstream's origin replaced by the public one."""
    if rules.upstream_url and url.startswith(rules.upstream_url):
        rest = url[len(rules.upstream_url) :]
        if not rest or rest[0] in "/?#":
            return rules.public_url + rest
    return url


def canonical_id(tree: LexborHTMLParser, url: str, rules: PageRules) -> str:
    """The article's identity: its canonical link, else ``og:url``, else the request URL.

    A canonical link pointing at the site's front page (a common template
    mistake) is ignored, since it would make every article one article.
    """
    for href in (link_href(tree, "canonical"), *meta(tree, "og:url")):
        if not href:
            continue
        absolute = to_public(urljoin(url, href), rules)
        parts = urlsplit(absolute)
        if parts.scheme in ("http", "https") and parts.hostname and parts.path.strip("/"):
            return normalise_url(absolute)
    return normalise_url(to_public(url, rules), fold_case=True, strip_variant=True)


def _first_text(value: object) -> str:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), "")
    return value.strip() if isinstance(value, str) else ""


def _access(tree: LexborHTMLParser, path: str, rules: PageRules) -> AccessLevel:
    declared = meta(tree, "meterwall:access")
    if declared:
        try:
            return AccessLevel(declared[0].casefold())
        except ValueError:
            pass
    if _matches(rules.premium_patterns, path):
        return AccessLevel.PREMIUM
    if _matches(rules.free_patterns, path):
        return AccessLevel.FREE
    return rules.default_access


def _tags(tree: LexborHTMLParser, objects: list[dict[str, object]]) -> frozenset[str]:
    tags = {t.casefold() for t in meta(tree, "article:tag")}
    for obj in objects:
        keywords = obj.get("keywords")
        if isinstance(keywords, str):
            keywords = keywords.split(",")
        if isinstance(keywords, list):
            tags |= {k.strip().casefold() for k in keywords if isinstance(k, str) and k.strip()}
    return frozenset(tags)


def _listing_markup(tree: LexborHTMLParser, articles: list[dict[str, object]]) -> bool:
    """Whether the page's JSON-LD describes a listing: a collection, or several articles."""
    names = {str(o.get("url") or o.get("headline") or id(o)) for o in articles}
    if len(names) >= 3:
        return True
    if articles:
        return False
    for script in jsonld_scripts(tree):
        for obj in objects(load_json(script.text(deep=True))):
            if not types_of(obj).isdisjoint(_LISTING_TYPES):
                return True
    return False


def _cards(tree: LexborHTMLParser, region: LexborNode | None) -> int:
    """Teaser cards in ``region`` (the whole page when ``None``): headings that are links."""
    seen: set[int] = set()
    for link in tree.css(_CARD_HEADINGS):
        heading = link.parent
        while heading is not None and heading.tag not in ("h2", "h3", "h4"):
            heading = heading.parent
        if heading is None or heading.mem_id in seen:
            continue
        if region is not None and not inside(heading, region):
            continue
        if len(link.text(deep=True).strip()) * 2 >= len(heading.text(deep=True).strip()):
            seen.add(heading.mem_id)
    return len(seen)


def _in_article_element(node: LexborNode) -> bool:
    current: LexborNode | None = node
    while current is not None and current.is_element_node:
        if current.tag == "article":
            return True
        current = current.parent
    return False


def _recognised_from_page(tree: LexborHTMLParser, path: str, body: Body) -> bool:
    """An article without markup: enough prose under a headline, or backed by a date or byline."""
    if body.prose_chars >= UNMARKED_ARTICLE_CHARS and tree.css_first("h1") is not None:
        return True
    if body.prose_chars < DATED_ARTICLE_CHARS:
        return False
    return bool(_DATED_PATH.search(path)) or tree.css_first(_DATE_SIGNALS) is not None


def _kind(
    tree: LexborHTMLParser,
    path: str,
    rules: PageRules,
    articles: list[dict[str, object]],
    body: Body | None,
) -> str:
    """``"article"``, ``"listing"`` (teasers only, passed uncut) or ``"other"``.

    The rule, in order: ``exclude_patterns`` (never an article), then
    ``article_patterns`` when configured (an article exactly when matched);
    otherwise a listing (several articles in JSON-LD, an ``ItemList`` or
    collection, or four or more teaser cards) is not an article unless one
    of its entries shows a full post, which is gated like an article so it
    cannot leak; then article markup (``og:type=article``, JSON-LD article,
    ``itemprop=articleBody``); then the page itself (a dominant block of prose
    under a headline, or backed by a date, byline or article-like URL).
    """
    if _matches(rules.exclude_patterns, path):
        return "other"
    if rules.article_patterns:
        return "article" if _matches(rules.article_patterns, path) else "other"
    region = body.node if body is not None else None
    cards = _cards(tree, region)
    if _listing_markup(tree, articles) or cards >= LISTING_CARDS:
        if body is not None and body.run_chars >= FULL_POST_CHARS:
            return "article"
        return "listing"
    marked = (
        any(v.casefold() == "article" for v in meta(tree, "og:type"))
        or bool(articles)
        or tree.css_first("[itemprop=articleBody]") is not None
        or (body is not None and _in_article_element(body.node))
    )
    if marked:
        return "article"
    if body is not None and _recognised_from_page(tree, path, body):
        return "article"
    return "other"


def analyse(html: str, url: str, rules: PageRules) -> Page | None:
    """Analyse an upstream HTML page served at public ``url``; ``None`` if it is no article.

    A listing of teasers is no article; a listing that shows a full post is
    one (its ``listing`` flag set), so it is cut rather than leaked.
    """
    tree = parse(html)
    path_and_query = urlsplit(url)
    path = path_and_query.path or "/"
    objects_ = article_objects(tree)
    found = locate_body(tree)
    kind = _kind(tree, path, rules, objects_, found)
    if kind != "article":
        return None
    if rules.body_selector:
        body = select_body(tree, rules.body_selector)
    else:
        body = found.node if found is not None else None
    section = _first_text(meta(tree, "article:section")) or next(
        (_first_text(o.get("articleSection")) for o in objects_ if o.get("articleSection")), ""
    )
    headline = next(
        (_first_text(o.get("headline")) for o in objects_ if o.get("headline")), ""
    ) or _first_text(meta(tree, "og:title"))
    if not headline:
        title = tree.css_first("h1") or tree.css_first("title")
        headline = title.text(strip=True) if title is not None else ""
    article = ArticleAccess(
        id=canonical_id(tree, url, rules),
        access=_access(tree, path, rules),
        section=section.casefold(),
        tags=_tags(tree, objects_),
    )
    return Page(
        html=html,
        url=url,
        article=article,
        headline=headline,
        body=locate(body) if body is not None else None,
        amp=is_amp(tree),
        listing=_listing_markup(tree, objects_) or _cards(tree, body) >= LISTING_CARDS,
        parsed=[tree],
    )
