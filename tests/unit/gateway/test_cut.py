"""Preparing the teaser and full-text outcomes of an analysed page."""

from __future__ import annotations

import json

import pytest

from meterwall.gateway import cut as cut_module
from meterwall.gateway.config import PageRules
from meterwall.gateway.cut import Assets, prepare
from meterwall.gateway.page import analyse
from meterwall.gateway.tree import parse

RULES = PageRules(public_url="https://news.example")
ASSETS = Assets(stylesheet="/_meterwall/meterwall.css", amp_css=".mw-gate{color:red}")
LEDE = (
    "LEDE The harbor reopened on Monday under a bright and windy sky for once, and the first "
    "boats were out before dawn with their crews."
)
REST = [
    f"SECRET-{i} Paragraph {i} of the body that only subscribers may read in full."
    for i in range(6)
]


def page_html(extra_head: str = "", amp: bool = False) -> str:
    body = f"<p>{LEDE}</p>" + "".join(f"<p>{p}</p>" for p in REST)
    data = {"@type": "NewsArticle", "headline": "H", "articleBody": LEDE + " " + " ".join(REST)}
    return (
        f"<!doctype html><html{' amp' if amp else ''}><head><title>H</title>"
        f'<link rel="canonical" href="https://news.example/h">'
        f'<script type="application/ld+json">{json.dumps(data)}</script>{extra_head}</head>'
        f'<body><nav>Home</nav><main><h1>H</h1><div class="b">{body}</div></main></body></html>'
    )


def analysed(html: str) -> object:
    page = analyse(html, "https://news.example/h", RULES)
    assert page is not None
    return page


def test_teaser_keeps_the_lede_and_slots_and_drops_the_rest() -> None:
    prepared = prepare(analysed(page_html()), RULES, False, ASSETS)  # type: ignore[arg-type]
    assert not prepared.full_text and not prepared.fallback
    html = prepared.personalise("<b>BANNER</b>", "<i>GATE</i>")
    assert LEDE in html and "SECRET" not in html
    assert "<i>GATE</i>" in html and "<b>BANNER</b>" in html
    assert '<link rel="stylesheet" href="/_meterwall/meterwall.css">' in html
    assert "<nav>Home</nav>" in html


def test_full_text_keeps_everything_and_adds_paywall_markup() -> None:
    prepared = prepare(analysed(page_html()), RULES, True, ASSETS)  # type: ignore[arg-type]
    html = prepared.personalise()
    assert all(p in html for p in REST)
    assert '"isAccessibleForFree":false' in html
    assert "meterwall-slot" not in html


def test_a_description_generated_from_the_body_is_cut_to_the_lede() -> None:
    description = f'<meta name="description" content="{LEDE} {REST[0]}">'
    prepared = prepare(analysed(page_html(description)), RULES, False, ASSETS)  # type: ignore[arg-type]
    html = prepared.personalise()
    assert "SECRET" not in html
    assert f'<meta name="description" content="{LEDE}">' in html


def test_prepared_pages_serve_many_readers() -> None:
    prepared = prepare(analysed(page_html()), RULES, False, ASSETS)  # type: ignore[arg-type]
    first = prepared.personalise(gate="<i>one</i>")
    second = prepared.personalise(gate="<i>two</i>")
    assert "<i>one</i>" in first and "<i>two</i>" in second and "<i>one</i>" not in second


def test_amp_pages_get_inline_css_and_the_gate_after_the_body() -> None:
    html_text = page_html("<style amp-custom>h1{margin:0}</style>", amp=True)
    prepared = prepare(analysed(html_text), RULES, False, ASSETS)  # type: ignore[arg-type]
    html = prepared.personalise(gate="<section class=mw-gate>G</section>")
    assert "h1{margin:0}.mw-gate{color:red}" in html
    assert 'rel="stylesheet"' not in html
    tree = parse(html)
    body = tree.css_first(".mw-paywalled")
    assert body is not None and "mw-gate" not in (body.html or "")


def test_word_lede_truncates_inside_a_paragraph() -> None:
    rules = PageRules(public_url="https://news.example", lede_words=4)
    prepared = prepare(analysed(page_html()), rules, False, ASSETS)  # type: ignore[arg-type]
    html = prepared.personalise()
    assert "LEDE The harbor reopened …" in html
    assert "Monday" not in html


def test_a_page_whose_body_is_only_in_script_state_is_scrubbed() -> None:
    state = json.dumps({"story": {"text": " ".join(REST) + " " + " ".join(REST)}})
    html_text = (
        '<!doctype html><html><head><meta property="og:type" content="article"><title>H</title>'
        f"</head><body><h1>H</h1><div id=app></div><script>window.__S__={state}</script>"
        "</body></html>"
    )
    page = analysed(html_text)
    assert page.body is None  # type: ignore[attr-defined]
    html = prepare(page, RULES, False, ASSETS).personalise(gate="<i>G</i>")  # type: ignore[arg-type]
    assert "SECRET" not in html
    assert "<h1>H</h1><i>G</i>" in html


def test_when_surgery_fails_a_plain_safe_page_is_served(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cut_module, "scrub_tree", lambda *_args: None)
    state = f"<script>var s = {json.dumps(REST[2])};</script>"
    prepared = prepare(analysed(page_html(state)), RULES, False, ASSETS)  # type: ignore[arg-type]
    html = prepared.personalise(gate="<i>GATE</i>")
    assert prepared.fallback
    assert "SECRET" not in html and LEDE in html and "<i>GATE</i>" in html
    assert '<link rel="canonical" href="https://news.example/h">' in html


def test_an_article_whose_body_is_not_found_is_gated_whole() -> None:
    prose = "<br>".join(REST)
    html_text = (
        '<!doctype html><html><head><meta property="og:type" content="article"><title>H</title>'
        f"</head><body><nav><a href=/>Home</a> <a href=/news>News</a></nav><h1>H</h1>{LEDE}<br>"
        f"{prose}<footer>Contact the newsroom</footer></body></html>"
    )
    page = analysed(html_text)
    assert page.body is None  # type: ignore[attr-defined]
    prepared = prepare(page, RULES, False, ASSETS)  # type: ignore[arg-type]
    html = prepared.personalise(gate="<i>GATE</i>")
    assert "SECRET" not in html and "harbor reopened" not in html
    assert "<h1>H</h1><i>GATE</i>" in html
    assert "Home" in html and "Contact the newsroom" in html


def test_a_configured_selector_that_matches_nothing_fails_closed() -> None:
    rules = PageRules(public_url="https://news.example", body_selector=".gone")
    prepared = prepare(analysed(page_html()), rules, False, ASSETS)  # type: ignore[arg-type]
    html = prepared.personalise(gate="<i>GATE</i>")
    assert "SECRET" not in html and "<i>GATE</i>" in html


def test_a_long_first_paragraph_is_capped() -> None:
    words = " ".join(f"w{i}" for i in range(400))
    html_text = page_html().replace(f"<p>{LEDE}</p>", f"<p>LEDE {words}</p>")
    rules = PageRules(public_url="https://news.example", lede_max_words=50)
    html = prepare(analysed(html_text), rules, False, ASSETS).personalise()  # type: ignore[arg-type]
    assert "w40" in html and "w60" not in html and "SECRET" not in html


def test_share_bars_and_related_links_after_the_lede_stay() -> None:
    extra = '<div class="share-tools"><a href="/s">Share this story</a></div>'
    html_text = page_html().replace("</div></main>", f"{extra}</div></main>")
    html = prepare(analysed(html_text), RULES, False, ASSETS).personalise()  # type: ignore[arg-type]
    assert "Share this story" in html and "SECRET" not in html


def test_a_listing_showing_full_posts_keeps_no_post_beyond_a_lede() -> None:
    posts = "".join(
        f'<div class="post"><h2><a href="/p{n}">Post {n}</a></h2><p>{LEDE}</p>'
        + "".join(f"<p>POST-{n} {p}</p>" for p in REST)
        + "</div>"
        for n in range(3)
    )
    html_text = (
        '<!doctype html><html><head><script type="application/ld+json">{"@type": "Blog"}'
        f"</script></head><body><h1>A blog</h1><main>{posts}</main></body></html>"
    )
    page = analyse(html_text, "https://news.example/", RULES)
    assert page is not None and page.listing
    html = prepare(page, RULES, False, ASSETS).personalise(gate="<i>GATE</i>")
    assert "SECRET" not in html and "<i>GATE</i>" in html
