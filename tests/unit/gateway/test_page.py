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


LONG_PROSE = "".join(
    f"<p>Paragraph {i} of a story without any markup at all, written long enough to read "
    "as real article prose in a column of text.</p>"
    for i in range(10)
)


def test_an_article_without_markup_is_recognised_from_the_page_itself() -> None:
    body = (
        f'<div class="top"><a href="/">Home</a></div><h1>Harbor reopens</h1><div>{LONG_PROSE}</div>'
    )
    page = analyse(doc("", body), PUBLIC + "/harbor-reopens", RULES)
    assert page is not None and page.body is not None
    dated = f'<p><time datetime="2024-03-01">1 March</time></p><div>{PROSE}</div>'
    assert analyse(doc("", dated), PUBLIC + "/x", RULES) is not None


def teaser_cards(count: int) -> str:
    return "".join(
        f'<div class="card"><h3><a href="/story-{i}">Story {i} headline</a></h3>'
        f"<p>A short summary of story {i} that invites the reader to click through.</p></div>"
        for i in range(count)
    )


def test_a_section_page_listing_news_articles_is_not_an_article() -> None:
    items = [
        {"@type": "ListItem", "position": i, "item": {"@type": "NewsArticle", "url": f"/s{i}"}}
        for i in range(6)
    ]
    head = ld({"@type": "ItemList", "itemListElement": items})
    head += '<meta property="og:type" content="article">'
    assert analyse(doc(head, f"<main>{teaser_cards(6)}</main>"), PUBLIC + "/news", RULES) is None
    many = "".join(ld({"@type": "NewsArticle", "headline": f"Story {i}"}) for i in range(5))
    assert analyse(doc(many, f"<main>{teaser_cards(5)}</main>"), PUBLIC + "/", RULES) is None


def test_a_front_page_of_teaser_cards_is_not_an_article() -> None:
    head = '<meta property="og:type" content="article">'
    assert analyse(doc(head, f"<h1>News</h1><main>{teaser_cards(8)}</main>"), PUBLIC, RULES) is None


def test_a_blog_front_page_showing_a_full_post_is_gated() -> None:
    post = f'<div class="post"><h2><a href="/post-1">The full post</a></h2>{LONG_PROSE}</div>'
    body = f"<h1>My blog</h1><main>{post}{teaser_cards(4)}</main>"
    page = analyse(doc(ld({"@type": "Blog"}), body), PUBLIC + "/", RULES)
    assert page is not None and page.body is not None
    assert page.listing
