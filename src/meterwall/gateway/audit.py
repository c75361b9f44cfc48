"""``meterwall audit``: check any article page for paywall leaks, as an anonymous reader would.

The audit reads a page the way bypass tools do: the HTML body beyond a
teaser, JSON-LD ``articleBody``, hydration state and other inline data,
``<noscript>``/``<template>`` copies, encoded copies, HTML comments, the AMP
version and the RSS/Atom feed.  Anything that hands an anonymous reader
more article text than a teaser is a leak; missing paywall markup is a
warning.  It works on anyone's pages, before they adopt meterwall.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin

import httpx
from lxml import etree
from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from meterwall.gateway.body import find_body, lede_paragraphs
from meterwall.gateway.feeds import local_name
from meterwall.gateway.markup import (
    BODY_KEYS,
    article_objects,
    jsonld_scripts,
    link_href,
    load_json,
    meta,
)
from meterwall.gateway.scrub import js_segments, string_value
from meterwall.gateway.text import readings, shingles, word_count, words
from meterwall.gateway.tree import parse, text_of

DEFAULT_TEASER_WORDS = 120
"""More body text than this in a gated page is a leak (a lede is 30 to 80 words)."""

_PROSE = 12
_ONE_STRING = 60
_MANY_STRINGS = 150

Level = Literal["leak", "warning", "ok", "skipped"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's result."""

    check: str
    level: Level
    detail: str
    words: int = 0


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
        leaks, warnings = len(self.leaks), len(self.warnings)
        verdict = "no leaks found" if not leaks else f"{leaks} leak{'s' * (leaks != 1)} found"
        lines.append(f"Result: {verdict}, {warnings} warning{'s' * (warnings != 1)}.")
        return "\n".join(lines)


class _Allowance:
    """What a gated page shows anyway: its visible text, headline and descriptions."""

    def __init__(self, tree: LexborHTMLParser) -> None:
        shown = [*meta(tree, "description", "og:description", "twitter:description", "og:title")]
        title = tree.css_first("title")
        if title is not None:
            shown.append(title.text(deep=True))
        if tree.body is not None:
            shown.append(text_of(tree.body))
        body = find_body(tree)
        self.body_words = (
            sum(word_count(text_of(p)) for p in lede_paragraphs(body)) if body is not None else 0
        )
        self.hashes = set().union(*(shingles(r) for t in shown for r in readings(t)))

    def unshown_words(self, text: str) -> int:
        """Words of ``text`` (in any reading) that the page does not show, approximately."""
        best = 0
        for reading in readings(text):
            tokens = words(reading)
            if len(tokens) < _PROSE:
                continue
            extra = len(shingles(reading) - self.hashes)
            best = max(best, min(extra, len(tokens)))
        return best


def _values(data: Any) -> Iterator[str]:
    """The string values in parsed JSON, JSON nested in strings included."""
    stack: list[Any] = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            nested = load_json(item) if item.lstrip()[:1] in ("{", "[") else None
            if nested is None:
                yield item
            else:
                stack.append(nested)


def _strings(code: str) -> Iterator[str]:
    """The string values of inline data: JSON values, or JavaScript string literals."""
    data = load_json(code)
    if data is not None:
        yield from _values(data)
        return
    for kind, segment in js_segments(code):
        if kind == "string":
            yield from _values(string_value(segment))


def _carrier(check: str, texts: list[str], allowance: _Allowance, what: str) -> Finding:
    counts = [allowance.unshown_words(t) for t in texts]
    prose = [c for c in counts if c >= _PROSE]
    longest = max(prose, default=0)
    total = sum(prose)
    if longest >= _ONE_STRING or (len(prose) >= 3 and total >= _MANY_STRINGS):
        return Finding(check, "leak", f"{total} words of article text in {what}", total)
    return Finding(check, "ok", f"no article text beyond the teaser in {what}")


def audit_html(document: str, source: str, teaser_words: int = DEFAULT_TEASER_WORDS) -> Report:
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
    allowance = _Allowance(tree)
    found = report.findings
    if allowance.body_words > teaser_words:
        found.append(
            Finding(
                "body in HTML",
                "leak",
                f"{allowance.body_words} words of body text in the page "
                f"(a teaser needs at most {teaser_words})",
                allowance.body_words,
            )
        )
    else:
        found.append(
            Finding("body in HTML", "ok", f"{allowance.body_words} words of body text (a teaser)")
        )
    bodies = [v for o in articles for k in BODY_KEYS if isinstance(v := o.get(k), str)]
    found.append(_carrier("JSON-LD articleBody", bodies, allowance, "JSON-LD articleBody/text"))
    inline: list[str] = []
    structured = {s.mem_id for s in jsonld_scripts(tree)}
    for script in tree.css("script"):
        if script.attributes.get("src") or script.mem_id in structured:
            continue
        inline.extend(_strings(script.text(deep=True)))
    found.append(_carrier("hydration state", inline, allowance, "inline scripts and state"))
    hidden = [n.text(deep=True) for n in tree.css("noscript")]
    hidden += [f.html or "" for f in tree.template_fragments()]
    found.append(_carrier("noscript/template", hidden, allowance, "<noscript> and <template>"))
    extra: list[str] = []
    root = tree.root
    if root is not None:
        for node in root.traverse(include_text=True):
            if node.is_comment_node:
                extra.append(node.comment_content or "")
            elif node.is_element_node:
                extra.extend(v for v in node.attributes.values() if v and len(v) >= 80)
    found.append(_carrier("comments/attributes", extra, allowance, "comments and attributes"))
    found.append(_markup(articles, tree))
    return report


def _markup(articles: list[dict[str, Any]], tree: LexborHTMLParser) -> Finding:
    if not articles:
        return Finding("paywall markup", "warning", "no schema.org Article markup on the page")
    free = [o.get("isAccessibleForFree") for o in articles]
    if not any(v is False or str(v).casefold() == "false" for v in free):
        return Finding("paywall markup", "warning", "no isAccessibleForFree: false")
    parts = [o.get("hasPart") for o in articles]
    selectors = [
        p.get("cssSelector")
        for part in parts
        for p in (part if isinstance(part, list) else [part])
        if isinstance(p, dict)
    ]
    if not any(isinstance(s, str) and s for s in selectors):
        return Finding("paywall markup", "warning", "no hasPart.cssSelector naming the paywall")
    missing = [s for s in selectors if isinstance(s, str) and not _selects(tree, s)]
    if missing:
        return Finding("paywall markup", "warning", f"cssSelector {missing[0]!r} matches nothing")
    return Finding("paywall markup", "ok", "isAccessibleForFree: false with hasPart.cssSelector")


def _selects(tree: LexborHTMLParser, selector: str) -> bool:
    try:
        return bool(tree.css(selector))
    except (SelectolaxError, ValueError):
        return False


def audit_feed(document: bytes, teaser_words: int) -> Finding:
    """Whether any feed item carries more than a teaser."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(document, parser=parser)
    except etree.XMLSyntaxError:
        return Finding("feed", "skipped", "the feed could not be parsed")
    worst = 0
    for item in (e for e in root.iter() if local_name(e.tag) in ("item", "entry")):
        for child in item:
            if local_name(child.tag) in ("description", "encoded", "content", "summary"):
                text = etree.tostring(child, encoding="unicode", method="text")
                worst = max(worst, max(word_count(r) for r in readings(text)))
    if worst > teaser_words:
        return Finding("feed", "leak", f"feed items carry up to {worst} words", worst)
    return Finding("feed", "ok", f"feed items carry at most {worst} words")


def audit_file(path: Path, teaser_words: int = DEFAULT_TEASER_WORDS) -> Report:
    """Audit a saved page (its AMP version and feed cannot be followed)."""
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
    """Audit the page at ``url``, and (with ``follow``) its AMP version and feed."""
    response = await client.get(url)
    report = audit_html(response.text, url, teaser_words)
    await _follow(client, report, parse(response.text), str(response.url), teaser_words, follow)
    return report


async def _follow(
    http: httpx.AsyncClient,
    report: Report,
    tree: LexborHTMLParser,
    url: str,
    teaser_words: int,
    follow: bool,
) -> None:
    amp = link_href(tree, "amphtml")
    feed = next(
        (
            n.attributes.get("href") or ""
            for n in tree.css("link[rel~=alternate][href][type]")
            if (n.attributes.get("type") or "").casefold()
            in ("application/rss+xml", "application/atom+xml")
        ),
        "",
    )
    if not follow or not amp:
        report.findings.append(Finding("AMP version", "skipped", "no AMP version linked"))
    else:
        page = await http.get(urljoin(url, amp))
        amp_report = audit_html(page.text, urljoin(url, amp), teaser_words)
        body = amp_report.findings[0]
        level: Level = "leak" if body.level == "leak" else "ok"
        report.findings.append(Finding("AMP version", level, body.detail, body.words))
        report.findings.extend(
            Finding(f"AMP {f.check}", f.level, f.detail, f.words)
            for f in amp_report.findings[1:]
            if f.level == "leak"
        )
    if not follow or not feed:
        report.findings.append(Finding("feed", "skipped", "no feed linked"))
    else:
        response = await http.get(urljoin(url, feed))
        report.findings.append(audit_feed(response.content, teaser_words))
