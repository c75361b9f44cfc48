"""Page analysis: is this upstream page an article, which one, and where is its body?

:func:`analyse` is the expensive, reader-independent half of gating a page.
Its result, a :class:`Page`, depends only on the upstream HTML and the
settings, so it can be cached by canonical URL and reused for every reader;
:mod:`meterwall.gateway.cut` then prepares each outcome from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser

from meterwall.access.model import AccessLevel, ArticleAccess
from meterwall.gateway.body import find_body, main_article, select_body
from meterwall.gateway.config import PageRules
from meterwall.gateway.markup import article_objects, is_amp, link_href, meta
from meterwall.gateway.tree import Locator, locate, parse

_TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|_gl|ref|ref_src|cmpid|"
    r"smid|share|output|outputtype|amp|print|preview|_preview|view|mode|page)$",
    re.IGNORECASE,
)
_VARIANT_SUFFIX = re.compile(r"(/amp|/print|/_preview|/preview|\.amp)/?$", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}


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


def _is_article(
    tree: LexborHTMLParser, path: str, rules: PageRules, has_jsonld_article: bool
) -> bool:
    if _matches(rules.exclude_patterns, path):
        return False
    if rules.article_patterns:
        return _matches(rules.article_patterns, path)
    if any(v.casefold() == "article" for v in meta(tree, "og:type")) or has_jsonld_article:
        return True
    return main_article(tree) is not None


def analyse(html: str, url: str, rules: PageRules) -> Page | None:
    """Analyse an upstream HTML page served at public ``url``; ``None`` if it is no article."""
    tree = parse(html)
    path_and_query = urlsplit(url)
    path = path_and_query.path or "/"
    objects = article_objects(tree)
    if not _is_article(tree, path, rules, bool(objects)):
        return None
    body = select_body(tree, rules.body_selector) if rules.body_selector else find_body(tree)
    section = _first_text(meta(tree, "article:section")) or next(
        (_first_text(o.get("articleSection")) for o in objects if o.get("articleSection")), ""
    )
    headline = next(
        (_first_text(o.get("headline")) for o in objects if o.get("headline")), ""
    ) or _first_text(meta(tree, "og:title"))
    if not headline:
        title = tree.css_first("h1") or tree.css_first("title")
        headline = title.text(strip=True) if title is not None else ""
    article = ArticleAccess(
        id=canonical_id(tree, url, rules),
        access=_access(tree, path, rules),
        section=section.casefold(),
        tags=_tags(tree, objects),
    )
    return Page(
        html=html,
        url=url,
        article=article,
        headline=headline,
        body=locate(body) if body is not None else None,
        amp=is_amp(tree),
    )
