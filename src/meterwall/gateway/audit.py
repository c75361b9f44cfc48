"""``meterwall audit``: check any article page for paywall leaks, as an anonymous reader would.

The audit reads a page the way bypass tools do, channel by channel: the
visible body beyond a teaser, JSON-LD, hydration state and other inline
scripts (rich text split into short runs is joined back first),
``<noscript>``, ``<template>``, attributes and comments, encoded copies.
For a URL it also asks for every other representation the proxy cuts: the
Next.js data route, the RSC payload, ``Accept: application/json`` and
``text/plain``, ``?format=json|txt``, print and XHR variants, the AMP
version, linked feeds (RSS, Atom, JSON Feed) and the REST URL a page
advertises.

Only prose counts: a stretch of words that reads as sentences and that
the page does not show.  SVG path data, URLs, class lists, code, CSS and
base64 blobs never count, so a properly gated page raises no alarm.  Each
leak names its channel and quotes the leaked passage.  It works on anyone's
pages, before they adopt meterwall.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx
from lxml import etree
from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from meterwall.gateway.body import find_body, is_boilerplate, lede_paragraphs
from meterwall.gateway.config import PageRules
from meterwall.gateway.feeds import local_name
from meterwall.gateway.markup import article_objects, jsonld_scripts, link_href, load_json, meta
from meterwall.gateway.page import analyse
from meterwall.gateway.scrub import js_segments, string_value
from meterwall.gateway.text import (
    MARKS,
    RUN_BREAK,
    join_runs,
    prose_value,
    readings,
    string_values,
    strip_tags,
    word_count,
)
from meterwall.gateway.tree import ancestors, find, parse, text_of

DEFAULT_TEASER_WORDS = 120
"""More body text than this in a gated page is a leak (a lede is 30 to 80 words)."""

SHINGLE = 5
_ANCHORED = 25
"""Unshown prose words right after the lede in a hidden copy: the body continues there."""
_UNANCHORED = 100
"""Unshown prose words in one stretch anywhere hidden: an article's worth of text."""
_NEAR_LEDE = 40
"""Tokens after the lede within which a stretch still continues it (a short second
paragraph the teaser shows may come first)."""
_RUN_WORDS = 8
"""Words per joined piece of a hidden copy that continues the lede."""
_PARAGRAPH_WORDS = 15
"""Words per joined piece of any other hidden prose: paragraphs, not messages or labels."""
_QUOTE_WORDS = 24
_LEDE_MIN = 8
_LEDE_JOIN = 25
"""A first paragraph shorter than this is shown with the next one, as the proxy does."""
_WHOLE_ARTICLE = 300
"""Words of a block of sibling paragraphs that are an article wherever they sit."""
_BEYOND_LEDE = 40
"""Visible body words after the lede that make a page with a long lede a leak."""
_MIN_ATTRIBUTE = 40
_ENCODED = 64
"""A value this long without a space may be an encoded copy (base64, percent-encoded)."""
_SPACE = re.compile(r"\s")

Level = Literal["leak", "warning", "ok", "skipped"]

_WORD = re.compile(r"\w+")
_SENTENCE_MARK = re.compile(f"[{MARKS}\u3002\uff0c\u3001\uff01\uff1f]")
_SCRIPT_STRING = re.compile(r"['`]")
_CODE_WORDS = frozenset(
    {"function", "return", "var", "const", "null", "undefined", "typeof", "prototype", "void"}
    | {"instanceof", "true", "false", "strict", "window", "document", "console"}
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's result: on a leak, the channel it came through and a passage of it."""

    check: str
    level: Level
    detail: str
    words: int = 0
    channel: str = ""
    passage: str = ""


class AuditError(Exception):
    """The page itself could not be audited: it answered 404 or a server error."""


@dataclass
class Report:
    """Everything the audit found about one page."""

    source: str
    article: bool = False
    headline: str = ""
    canonical: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def leaks(self) -> list[Finding]:
        """The findings that are leaks."""
        return [f for f in self.findings if f.level == "leak"]

    @property
    def warnings(self) -> list[Finding]:
        """The findings that are warnings."""
        return [f for f in self.findings if f.level == "warning"]

    def to_json(self) -> str:
        """The report as JSON."""
        data = asdict(self)
        data["leak_count"] = len(self.leaks)
        return json.dumps(data, indent=2, ensure_ascii=False)

    def to_text(self) -> str:
        """The report as readable text."""
        lines = [f"meterwall audit: {self.source}"]
        kind = "an article page" if self.article else "NOT recognised as an article page"
        lines.append(f"  page:      {kind}")
        if self.headline:
            lines.append(f"  headline:  {self.headline}")
        if self.canonical:
            lines.append(f"  canonical: {self.canonical}")
        labels = {"leak": "LEAK", "warning": "WARN", "ok": "ok", "skipped": "skip"}
        for finding in self.findings:
            lines.append(f"  {labels[finding.level]:<5} {finding.check:<22} {finding.detail}")
            if finding.level == "leak" and finding.passage:
                lines.append(f"        leaked: “{finding.passage}”")
        leaks, warnings = len(self.leaks), len(self.warnings)
        verdict = "no leaks found" if not leaks else f"{leaks} leak{'s' * (leaks != 1)} found"
        lines.append(f"Result: {verdict}, {warnings} warning{'s' * (warnings != 1)}.")
        return "\n".join(lines)


def _reads_as_sentences(text: str, count: int, unit_words: int) -> bool:
    """Whether a stretch of words reads as sentences, not labels, classes or code.

    ``text`` marks each place where two separate strings meet with
    :data:`RUN_BREAK`; the stretch's pieces must average ``unit_words`` words
    (rich text runs meet with a space and form one piece; a list of labels
    is many pieces of a word or two).
    """
    tokens = text.split()
    if not tokens or not prose_value(text):
        return False
    if count / (text.count(RUN_BREAK) + 1) < unit_words:
        return False
    hyphenated = sum(1 for t in tokens if "-" in t.strip("-"))
    capitalised = sum(1 for t in tokens if t[:1].isupper())
    code = sum(1 for t in tokens if t.strip(MARKS + "()") in _CODE_WORDS)
    if hyphenated * 4 > len(tokens) or capitalised * 5 > len(tokens) * 2 or code * 30 > len(tokens):
        return False
    return count < 25 or bool(_SENTENCE_MARK.search(text))


def _shingle_hashes(text: str) -> set[int]:
    tokens = _WORD.findall(text.casefold())
    return {hash(tuple(tokens[i : i + SHINGLE])) for i in range(len(tokens) - SHINGLE + 1)}


@dataclass(frozen=True, slots=True)
class _Stretch:
    words: int
    passage: str
    anchored: bool


class _Allowance:
    """What a teaser may show (the page's visible text and descriptions less the body after
    the lede), and the lede itself."""

    def __init__(self, tree: LexborHTMLParser, document: str, url: str) -> None:
        shown = [*meta(tree, "description", "og:description", "twitter:description", "og:title")]
        title = tree.css_first("title")
        if title is not None:
            shown.append(title.text(deep=True))
        if tree.body is not None:
            shown.append(text_of(tree.body))
        self.hashes: set[int] = set()
        for text in shown:
            self.hashes |= _shingle_hashes(text)
        self.body_words = 0
        self.after_lede = ""
        self.lede: set[int] = set()
        body = _body(tree, document, url)
        if body is not None:
            paragraphs = [t for t in (text_of(p) for p in lede_paragraphs(body)) if prose_value(t)]
            self.body_words = sum(word_count(p) for p in paragraphs)
            first = next((p for p in paragraphs if word_count(p) >= _LEDE_MIN), "")
            self.lede = _shingle_hashes(first)
            self.after_lede = _after_lede(paragraphs)
        if tree.body is not None:
            group = _largest_group(tree.body)
            # Another block of prose is the article only if it holds the lede, is as long as
            # a whole article, or no body was found (other stories' summaries are not it).
            ours = (
                body is None
                or any(self.lede & _shingle_hashes(p) for p in group[:3])
                or word_count(_after_lede(group)) >= _WHOLE_ARTICLE
            )
            if ours and word_count(_after_lede(group)) > word_count(self.after_lede):
                self.body_words = max(self.body_words, sum(word_count(p) for p in group))
                self.after_lede = _after_lede(group)
        # A teaser may show the lede, never the body after it, even where this page shows it:
        # a copy of that body in another channel leaks past any paywall that cuts the HTML.
        self.hashes -= _shingle_hashes(self.after_lede) - self.lede

    def stretch(self, text: str) -> _Stretch:
        """The longest stretch of prose in ``text`` that the page does not show.

        A stretch is a run of consecutive word shingles the page does not
        show; it is anchored when it starts soon after a shingle of the lede.
        """
        matches = list(_WORD.finditer(text))
        tokens = [m.group().casefold() for m in matches]
        windows = len(tokens) - SHINGLE + 1
        best = _Stretch(0, "", False)
        start = -1
        anchor = -(10**9)
        for i in range(windows + 1):
            key = hash(tuple(tokens[i : i + SHINGLE])) if i < windows else None
            if key is not None and key in self.lede:
                anchor = i + SHINGLE
            if key is not None and key not in self.hashes:
                if start < 0:
                    start = i
            elif start >= 0:
                best = self._better(best, text, matches, start, i - 1, anchor)
                start = -1
        return best

    @staticmethod
    def _better(
        best: _Stretch, text: str, matches: list[re.Match[str]], first: int, last: int, anchor: int
    ) -> _Stretch:
        """The longer of ``best`` and the stretch of unshown windows ``first``..``last``."""
        count = last - first + 1
        if count <= best.words:
            return best
        # A stretch after shown text begins with the last words of it; quote from the new ones.
        begin = first + SHINGLE - 1 if first else first
        end = min(last + SHINGLE - 1, len(matches) - 1)
        passage = text[matches[min(begin, end)].start() : matches[end].end()]
        anchored = -SHINGLE <= first - anchor <= _NEAR_LEDE
        if not _reads_as_sentences(passage, count, _RUN_WORDS if anchored else _PARAGRAPH_WORDS):
            return best
        quoted = " ".join(passage.split()[:_QUOTE_WORDS])
        return _Stretch(count, quoted, anchored)


def _after_lede(paragraphs: list[str]) -> str:
    """The text of ``paragraphs`` after the lede (a short first paragraph joins the next)."""
    skip = 0
    words = 0
    for paragraph in paragraphs:
        skip += 1
        words += word_count(paragraph)
        if words >= _LEDE_JOIN:
            break
    return " ".join(paragraphs[skip:])


def _largest_group(root: LexborNode) -> list[str]:
    """The largest group of sibling prose paragraphs outside page furniture: an article
    body wherever it sits, whichever element the page calls its body."""
    groups: dict[int, list[str]] = {}
    for paragraph in root.css("p"):
        parent = paragraph.parent
        if parent is None or any(is_boilerplate(a) for a in ancestors(paragraph)):
            continue
        text = text_of(paragraph)
        if word_count(text) >= _LEDE_MIN and prose_value(text):
            groups.setdefault(parent.mem_id, []).append(text)
    return max(groups.values(), key=lambda g: sum(word_count(t) for t in g), default=[])


def _body(tree: LexborHTMLParser, document: str, url: str) -> LexborNode | None:
    """The page's body element: the one its paywall markup names (``hasPart.cssSelector``),
    else the one the proxy would find."""
    for selector in _selectors(article_objects(tree)):
        try:
            named = tree.css_first(selector)
        except (SelectolaxError, ValueError):
            continue
        if named is not None:
            return named
    page = analyse(document, url or "http://audit.invalid/page", _rules(url))
    if page is not None and page.body is not None:
        return find(tree, page.body)
    return find_body(tree)


def _rules(url: str) -> PageRules:
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return PageRules(public_url=origin or "http://audit.invalid")


def _leak(check: str, channel: str, what: str, stretch: _Stretch) -> Finding | None:
    needed = _ANCHORED if stretch.anchored else _UNANCHORED
    if stretch.words < needed:
        return None
    where = "right after the lede" if stretch.anchored else "not shown on the page"
    return Finding(
        check,
        "leak",
        f"{stretch.words} words of article text in {what} ({where})",
        stretch.words,
        channel,
        stretch.passage,
    )


def _score(
    check: str,
    channel: str,
    what: str,
    texts: Iterable[str],
    allowance: _Allowance,
    markup: bool = False,
) -> Finding:
    """The worst leak among ``texts`` (each a carrier, read every way), or an ok finding."""
    worst: Finding | None = None
    for text in texts:
        for reading in _carrier_readings(text, markup):
            found = _leak(check, channel, what, allowance.stretch(reading))
            if found is not None and (worst is None or found.words > worst.words):
                worst = found
    return worst or Finding(check, "ok", f"no article text beyond the teaser in {what}", 0, channel)


def _carrier_readings(text: str, markup: bool = False) -> Iterator[str]:
    """A carrier's text as prose: its string values joined (rich text runs rebuilt), long
    encoded values decoded; for ``markup``, its rendered text too."""
    values = string_values(text) if '"' in text else []
    if values:
        yield join_runs(values)
    elif not markup and text.lstrip()[:1] not in ("{", "["):
        yield text
    if markup:
        yield strip_tags(html.unescape(text))
    for value in values or [text]:
        if len(value) >= _ENCODED and not _SPACE.search(value[:_ENCODED]):
            yield from (r for r in list(readings(value))[1:] if r.strip())


def _script_texts(code: str) -> list[str]:
    """An inline script's carriers: its double-quoted values, and its other JS literals."""
    texts = [code]
    if load_json(code) is None and _SCRIPT_STRING.search(code):
        literals = [string_value(t) for kind, t in js_segments(code) if kind == "string"]
        texts.append(join_runs(v for v in literals if v[:1] != '"'))
    return texts


def _hidden_channels(tree: LexborHTMLParser, allowance: _Allowance) -> list[Finding]:
    found: list[Finding] = []
    structured = jsonld_scripts(tree)
    found.append(
        _score(
            "JSON-LD articleBody",
            "json-ld",
            "JSON-LD",
            [s.text(deep=True) for s in structured],
            allowance,
        )
    )
    skip = {s.mem_id for s in structured}
    inline: list[str] = []
    for script in tree.css("script"):
        if script.attributes.get("src") or script.mem_id in skip:
            continue
        inline.extend(_script_texts(script.text(deep=True)))
    found.append(
        _score("hydration state", "script/hydration state", "inline scripts", inline, allowance)
    )
    noscript = [n.html or "" for n in tree.css("noscript")]
    templates = [f.html or "" for f in tree.template_fragments()]
    found.append(_score("noscript/template", "noscript", "<noscript>", noscript, allowance, True))
    if templates:
        template = _score("template", "template", "<template>", templates, allowance, True)
        if template.level == "leak":
            found[-1] = Finding(
                "noscript/template",
                "leak",
                template.detail,
                template.words,
                "template",
                template.passage,
            )
    comments: list[str] = []
    attributes: list[str] = []
    root = tree.root
    if root is not None:
        for node in root.traverse(include_text=True):
            if node.is_comment_node:
                comments.append(node.comment_content or "")
            elif node.is_element_node:
                attributes.extend(
                    v for v in node.attributes.values() if v and len(v) >= _MIN_ATTRIBUTE
                )
    attribute = _score("comments/attributes", "attribute", "attributes", attributes, allowance)
    comment = _score("comments/attributes", "comment", "HTML comments", comments, allowance, True)
    found.append(comment if comment.words > attribute.words else attribute)
    return found


def _body_finding(allowance: _Allowance, teaser_words: int) -> Finding:
    beyond = word_count(allowance.after_lede)
    if allowance.body_words > teaser_words and beyond >= _BEYOND_LEDE:
        return Finding(
            "body in HTML",
            "leak",
            f"{allowance.body_words} words of body text in the page "
            f"(a teaser needs at most {teaser_words})",
            allowance.body_words,
            "html body",
            " ".join(allowance.after_lede.split()[:_QUOTE_WORDS]),
        )
    return Finding(
        "body in HTML",
        "ok",
        f"{allowance.body_words} words of body text (a teaser)",
        allowance.body_words,
        "html body",
    )


def audit_page(
    document: str, url: str = "", teaser_words: int = DEFAULT_TEASER_WORDS
) -> list[Finding]:
    """Score one page's HTML (no network): one finding per channel, leaks with passages.

    This is what a benchmark calls per page; :func:`audit_html` wraps it in a
    :class:`Report`.
    """
    tree = parse(document)
    allowance = _Allowance(tree, document, url)
    articles = article_objects(tree)
    return [
        _body_finding(allowance, teaser_words),
        *_hidden_channels(tree, allowance),
        _paywall_markup(articles, tree),
    ]


def audit_html(
    document: str, source: str, teaser_words: int = DEFAULT_TEASER_WORDS, url: str = ""
) -> Report:
    """Audit one page's HTML (no network)."""
    tree = parse(document)
    report = Report(source=source)
    articles = article_objects(tree)
    report.article = bool(
        articles
        or any(v.casefold() == "article" for v in meta(tree, "og:type"))
        or tree.css_first("article")
    )
    heading = tree.css_first("h1")
    report.headline = next(
        (str(o["headline"]) for o in articles if isinstance(o.get("headline"), str)), ""
    ) or (heading.text(strip=True) if heading is not None else "")
    report.canonical = link_href(tree, "canonical")
    report.findings.extend(audit_page(document, url or source, teaser_words))
    return report


def _paywall_markup(articles: list[dict[str, Any]], tree: LexborHTMLParser) -> Finding:
    if not articles:
        return Finding("paywall markup", "warning", "no schema.org Article markup on the page")
    free = [o.get("isAccessibleForFree") for o in articles]
    if not any(v is False or str(v).casefold() == "false" for v in free):
        return Finding("paywall markup", "warning", "no isAccessibleForFree: false")
    selectors = _selectors(articles)
    if not selectors:
        return Finding("paywall markup", "warning", "no hasPart.cssSelector naming the paywall")
    missing = [s for s in selectors if not _selects(tree, s)]
    if missing:
        return Finding("paywall markup", "warning", f"cssSelector {missing[0]!r} matches nothing")
    return Finding("paywall markup", "ok", "isAccessibleForFree: false with hasPart.cssSelector")


def _selectors(articles: list[dict[str, Any]]) -> list[str]:
    """The CSS selectors of the paywalled parts the article markup names."""
    parts = [o.get("hasPart") for o in articles]
    return [
        selector
        for part in parts
        for p in (part if isinstance(part, list) else [part])
        if isinstance(p, dict) and isinstance(selector := p.get("cssSelector"), str) and selector
    ]


def _selects(tree: LexborHTMLParser, selector: str) -> bool:
    try:
        return bool(tree.css(selector))
    except (SelectolaxError, ValueError):
        return False


def _item_texts(document: bytes) -> list[str] | None:
    """The text of every feed item, every field at any depth; ``None`` if not a feed."""
    if document.lstrip()[:1] == b"{":
        data = load_json(document.decode("utf-8", "replace"))
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            return None
        return [" ".join(string_values(json.dumps(item))) for item in items]
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(document, parser=parser)
    except etree.XMLSyntaxError:
        return None
    texts: list[str] = []
    for item in (e for e in root.iter() if local_name(e.tag) in ("item", "entry")):
        for child in item.iter():
            if local_name(child.tag) in ("title", "link", "guid", "id", "category"):
                continue
            texts.append(strip_tags(child.text or ""))
    return texts


def audit_feed(document: bytes, teaser_words: int) -> Finding:
    """Whether any feed item (RSS, Atom, Media RSS, JSON Feed) carries more than a teaser."""
    texts = _item_texts(document)
    if texts is None:
        return Finding("feed", "skipped", "the feed could not be parsed", 0, "feed")
    worst = ""
    for text in texts:
        if word_count(text) > word_count(worst):
            worst = text
    count = word_count(worst)
    if count > teaser_words:
        passage = " ".join(worst.split()[teaser_words // 2 :][:_QUOTE_WORDS])
        return Finding(
            "feed", "leak", f"feed items carry up to {count} words", count, "feed", passage
        )
    return Finding("feed", "ok", f"feed items carry at most {count} words", count, "feed")


def audit_file(path: Path, teaser_words: int = DEFAULT_TEASER_WORDS) -> Report:
    """Audit a saved page (its other representations cannot be followed)."""
    document = path.read_text(encoding="utf-8", errors="replace")
    report = audit_html(document, str(path), teaser_words)
    report.findings.append(Finding("AMP version", "skipped", "a file has no AMP version"))
    report.findings.append(Finding("feed", "skipped", "a file has no feed"))
    return report


def audit_client(seconds: float = 20.0) -> httpx.AsyncClient:
    """An HTTP client that fetches as an anonymous reader would: no cookies, redirects followed."""
    return httpx.AsyncClient(
        timeout=seconds,
        follow_redirects=True,
        headers={"User-Agent": "Mozilla/5.0 (compatible; meterwall-audit)"},
    )


async def audit_url(
    url: str,
    client: httpx.AsyncClient,
    teaser_words: int = DEFAULT_TEASER_WORDS,
    follow: bool = True,
) -> Report:
    """Audit the page at ``url``, and (with ``follow``) every other representation of it.

    Raises :class:`AuditError` when the page answers 404 or a server error:
    there is nothing to audit, and saying "no leaks" would mislead.
    """
    response = await client.get(url)
    if response.status_code == 404 or response.status_code >= 500:
        raise AuditError(f"{url} answered HTTP {response.status_code}")
    report = audit_html(response.text, url, teaser_words, str(response.url))
    if not follow:
        report.findings.append(Finding("other representations", "skipped", "not followed"))
        return report
    tree = parse(response.text)
    allowance = _Allowance(tree, response.text, str(response.url))
    for probe in probes(tree, str(response.url), response.headers):
        report.findings.append(
            await _run_probe(client, probe, response.content, allowance, teaser_words)
        )
    return report


@dataclass(frozen=True, slots=True)
class Probe:
    """One other representation of the page to ask for."""

    check: str
    channel: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit((*parts[:3], urlencode(query), ""))


def _linked(tree: LexborHTMLParser, types: tuple[str, ...]) -> list[str]:
    return [
        n.attributes.get("href") or ""
        for n in tree.css("link[rel~=alternate][href][type]")
        if (n.attributes.get("type") or "").split(";")[0].strip().casefold() in types
    ]


_LINK_JSON = re.compile(r'<([^>]+)>\s*;[^,]*rel="?alternate"?[^,]*type="?application/json', re.I)


def probes(tree: LexborHTMLParser, url: str, headers: httpx.Headers | None = None) -> list[Probe]:
    """Every other representation of the article at ``url`` the audit asks for."""
    path = urlsplit(url).path or "/"
    found: list[Probe] = []
    state = tree.css_first("script#__NEXT_DATA__")
    data = load_json(state.text(deep=True)) if state is not None else None
    build = data.get("buildId") if isinstance(data, dict) else None
    if isinstance(build, str) and build:
        route = "/index" if path in ("", "/") else path.rstrip("/")
        found.append(
            Probe(
                "Next.js data route", "data route", urljoin(url, f"/_next/data/{build}{route}.json")
            )
        )
    found += [
        Probe("RSC payload", "rsc payload", url, (("RSC", "1"),)),
        Probe("RSC query", "rsc payload", _with_query(url, _rsc="audit")),
        Probe("Accept JSON", "json", url, (("Accept", "application/json"),)),
        Probe("Accept text", "text/plain", url, (("Accept", "text/plain"),)),
        Probe("?format=json", "json", _with_query(url, format="json")),
        Probe("?format=txt", "text/plain", _with_query(url, format="txt")),
        Probe("print view", "print view", _with_query(url, print="1")),
        Probe("XHR fragment", "xhr fragment", url, (("X-Requested-With", "XMLHttpRequest"),)),
    ]
    amp = link_href(tree, "amphtml")
    if amp:
        found.append(Probe("AMP version", "amp", urljoin(url, amp)))
    feeds = ("application/rss+xml", "application/atom+xml", "application/feed+json")
    found += [Probe("feed", "feed", urljoin(url, href)) for href in _linked(tree, feeds) if href]
    rest = _linked(tree, ("application/json",))
    if headers is not None:
        rest += _LINK_JSON.findall(headers.get("link", ""))
    found += [Probe("REST API", "data route", urljoin(url, href)) for href in rest if href]
    return found


async def _run_probe(
    client: httpx.AsyncClient,
    probe: Probe,
    page: bytes,
    allowance: _Allowance,
    teaser_words: int,
) -> Finding:
    try:
        response = await client.get(probe.url, headers=dict(probe.headers))
    except httpx.HTTPError as exc:
        return Finding(probe.check, "skipped", f"could not fetch: {exc}", 0, probe.channel)
    if response.status_code >= 400:
        return Finding(
            probe.check, "ok", f"not served (HTTP {response.status_code})", 0, probe.channel
        )
    body = response.content
    if body == page:
        return Finding(probe.check, "ok", "the same page as the article", 0, probe.channel)
    media = response.headers.get("content-type", "").split(";")[0].strip().casefold()
    if probe.channel == "feed" or media.endswith(("rss+xml", "atom+xml", "feed+json")):
        finding = audit_feed(body, teaser_words)
        return Finding(
            probe.check, finding.level, finding.detail, finding.words, "feed", finding.passage
        )
    what = f"{probe.check} ({media or 'no type'})"
    if "html" in media:
        tree = parse(response.text)
        visible = [text_of(tree.body)] if tree.body is not None else []
        findings = [
            _score(probe.check, probe.channel, what, visible, allowance),
            *(f for f in _hidden_channels(tree, allowance) if f.level == "leak"),
        ]
        worst = max(findings, key=lambda f: (f.level == "leak", f.words))
        channel = (
            probe.channel if worst.channel == probe.channel else f"{probe.channel}, {worst.channel}"
        )
        return Finding(probe.check, worst.level, worst.detail, worst.words, channel, worst.passage)
    return _score(probe.check, probe.channel, what, [response.text], allowance)
