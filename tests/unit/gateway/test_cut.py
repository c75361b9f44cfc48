"""Preparing the teaser and full-text outcomes of an analysed page."""

from __future__ import annotations

import json

import pytest

from meterwall.gateway import cut as cut_module
from meterwall.gateway.config import PageRules
from meterwall.gateway.cut import Assets, prepare
from meterwall.gateway.page import analyse
from meterwall.gateway.tree import parse
from tests.fixtures.richtext import portable_text
from tests.leaks import recoverable_runs

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


def _next_data(paragraphs: list[str]) -> str:
    state = {"props": {"pageProps": {"body": portable_text(paragraphs)}}, "buildId": "b7"}
    return f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(state)}</script>'


def test_rich_text_runs_beside_an_html_body_are_cut_and_the_page_kept() -> None:
    prepared = prepare(analysed(page_html(_next_data([LEDE, *REST]))), RULES, False, ASSETS)  # type: ignore[arg-type]
    html = prepared.personalise(gate="<i>G</i>")
    assert not prepared.fallback
    assert not recoverable_runs(html, REST, [LEDE]), recoverable_runs(html, REST, [LEDE])
    state = json.loads(parse(html).css_first("#__NEXT_DATA__").text())
    assert state["buildId"] == "b7"
    assert "".join(s["text"] for s in state["props"]["pageProps"]["body"][0]["children"]) == LEDE


def test_rich_text_runs_of_a_page_rendered_by_script_are_cut() -> None:
    html_text = (
        '<!doctype html><html><head><meta property="og:type" content="article"><title>H</title>'
        f"{_next_data([*REST, *REST])}</head><body><h1>H</h1><div id=__next></div></body></html>"
    )
    page = analysed(html_text)
    html = prepare(page, RULES, False, ASSETS).personalise(gate="<i>G</i>")  # type: ignore[arg-type]
    assert not recoverable_runs(html, REST, ["H"]), recoverable_runs(html, REST, ["H"])


def test_the_pre_send_check_sees_rich_text_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cut_module, "scrub_tree", lambda *_args: None)
    extra = _next_data([LEDE, *REST])
    prepared = prepare(analysed(page_html(extra)), RULES, False, ASSETS)  # type: ignore[arg-type]
    assert prepared.fallback
    assert not recoverable_runs(prepared.personalise(), REST, [LEDE])


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


def test_an_app_router_teaser_stays_as_the_server_rendered_it() -> None:
    flight = '<script>self.__next_f.push([1,"0:[\\"$\\",\\"article\\"]"])</script>'
    runtime = '<script src="/_next/static/chunks/app.js" async></script>'
    own = '<script src="/assets/analytics.js"></script>'
    html_text = page_html(runtime + own).replace("</body>", f"{flight}</body>")
    html = prepare(analysed(html_text), RULES, False, ASSETS).personalise(gate="<i>G</i>")  # type: ignore[arg-type]
    assert "__next_f" not in html and "/_next/static/" not in html
    assert "/assets/analytics.js" in html, "the site's other scripts stay"
    assert "<i>G</i>" in html
    full = prepare(analysed(html_text), RULES, True, ASSETS).personalise()  # type: ignore[arg-type]
    assert "__next_f" in full, "a reader with full access gets the page as it was"


def test_a_pages_router_teaser_keeps_its_scripts() -> None:
    runtime = '<script src="/_next/static/chunks/main.js" defer></script>'
    html = prepare(analysed(page_html(runtime + _next_data([LEDE]))), RULES, False, ASSETS)  # type: ignore[arg-type]
    assert "/_next/static/chunks/main.js" in html.personalise()
