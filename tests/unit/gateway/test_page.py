"""Page analysis: what is an article, which one it is, and what access it has."""

from __future__ import annotations

import json

import pytest

from meterwall.access.model import AccessLevel
from meterwall.gateway.config import PageRules, ProxySettings
from meterwall.gateway.page import analyse, normalise_url

PUBLIC = "https://news.example"
RULES = PageRules(public_url=PUBLIC, upstream_url="http://10.1.1.1:8080")
PROSE = "".join(
    f"<p>Paragraph {i} of the story, long enough to count as real article prose here.</p>"
    for i in range(8)
)


def doc(head: str = "", body: str = "") -> str:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


def ld(data: dict[str, object]) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


@pytest.mark.parametrize(
    "head",
    [
        '<meta property="og:type" content="article">',
        ld({"@type": "NewsArticle"}),
        ld({"@type": ["WebPage", "ReportageNewsArticle"]}),
        ld({"@graph": [{"@type": "WebSite"}, {"@type": "http://schema.org/Article"}]}),
    ],
)
def test_articles_are_recognised_by_their_markup(head: str) -> None:
    page = analyse(doc(head, f"<div>{PROSE}</div>"), PUBLIC + "/a", RULES)
    assert page is not None
    assert page.body is not None


def test_a_single_article_element_holding_the_prose_is_an_article() -> None:
    assert analyse(doc("", f"<article>{PROSE}</article>"), PUBLIC + "/a", RULES) is not None


def test_pages_without_article_signals_are_not_articles() -> None:
    cards = "".join(f"<article><h2>Story {i}</h2><p>Summary.</p></article>" for i in range(9))
    assert analyse(doc('<meta property="og:type" content="website">', cards), PUBLIC, RULES) is None
    assert analyse(doc("", f"<div>{PROSE}</div>"), PUBLIC + "/about", RULES) is None


def test_configured_patterns_decide_alone() -> None:
    rules = PageRules.from_settings(
        ProxySettings(article_patterns=[r"^/news/"], exclude_patterns=[r"/live/"]), PUBLIC
    )
    marked = doc('<meta property="og:type" content="article">', PROSE)
    assert analyse(doc("", PROSE), PUBLIC + "/news/x", rules) is not None
    assert analyse(marked, PUBLIC + "/opinion/x", rules) is None
    assert analyse(marked, PUBLIC + "/news/live/x", rules) is None


def test_canonical_link_is_the_identity_and_maps_the_upstream_origin() -> None:
    head = '<meta property="og:type" content="article"><link rel="canonical" href="http://10.1.1.1:8080/a/b/?utm_source=x">'
    page = analyse(doc(head, PROSE), PUBLIC + "/a/b/amp?utm_medium=y", RULES)
    assert page is not None
    assert page.canonical == PUBLIC + "/a/b"


def test_a_canonical_pointing_at_the_front_page_is_ignored() -> None:
    head = '<meta property="og:type" content="article"><link rel="canonical" href="/">'
    page = analyse(doc(head, PROSE), PUBLIC + "/News/Story/AMP/?outputType=amp", RULES)
    assert page is not None
    assert page.canonical == PUBLIC + "/news/story"


def test_access_section_and_tags_come_from_markup_and_patterns() -> None:
    head = (
        '<meta property="og:type" content="article">'
        '<meta name="meterwall:access" content="premium">'
        '<meta property="article:section" content="Opinion">'
        '<meta property="article:tag" content="Harbor">'
        + ld({"@type": "NewsArticle", "keywords": "Boats, Winter"})
    )
    page = analyse(doc(head, PROSE), PUBLIC + "/x", RULES)
    assert page is not None
    assert page.article.access is AccessLevel.PREMIUM
    assert page.article.section == "opinion"
    assert page.article.tags == {"harbor", "boats", "winter"}
    free = PageRules.from_settings(ProxySettings(free_patterns=["^/free/"]), PUBLIC)
    plain = doc('<meta property="og:type" content="article">', PROSE)
    assert analyse(plain, PUBLIC + "/free/x", free).article.access is AccessLevel.FREE  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://News.Example:443/a/?b=2&a=1&utm_x=3#frag", "https://news.example/a?a=1&b=2"),
        ("http://news.example:8080//a//b/", "http://news.example:8080/a/b"),
        ("https://news.example/", "https://news.example/"),
    ],
)
def test_normalise_url(url: str, expected: str) -> None:
    assert normalise_url(url) == expected


def test_settings_refuse_bad_patterns_and_selectors() -> None:
    with pytest.raises(ValueError, match="regular expression"):
        ProxySettings(article_patterns=["("])
    with pytest.raises(ValueError, match="CSS selector"):
        ProxySettings(body_selector="div[")
    with pytest.raises(ValueError, match="plain CSS value"):
        ProxySettings(style={"accent": "red;} body{display:none"})
