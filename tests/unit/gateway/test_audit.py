"""The leak audit on pages it has never seen: leaky ones fail, properly gated ones pass."""

from __future__ import annotations

import base64
import html
import json

import httpx

from meterwall.gateway.audit import Finding, audit_feed, audit_html, audit_page, probes
from meterwall.gateway.tree import parse
from tests.fixtures.richtext import contentful, portable_text, prosemirror

LEDE = "The harbor reopened on Monday under a bright and windy sky, officials said."
BODY = [
    f"Paragraph {i}: the council debated the budget for hours before a narrow vote on dredging "
    f"the channel, a project that fishing crews say is overdue by {i + 2} years at least."
    for i in range(12)
]


def page(body: str, head: str = "", paywall_markup: bool = True) -> str:
    data = {"@type": "NewsArticle", "headline": "Harbor"}
    if paywall_markup:
        data |= {
            "isAccessibleForFree": False,
            "hasPart": {
                "@type": "WebPageElement",
                "isAccessibleForFree": False,
                "cssSelector": ".b",
            },
        }
    return (
        f'<html><head><script type="application/ld+json">{json.dumps(data)}</script>{head}</head>'
        f'<body><nav>Home News</nav><article><h1>Harbor</h1><div class="b">{body}</div>'
        "</article></body></html>"
    )


def levels(report: object) -> dict[str, str]:
    return {f.check: f.level for f in report.findings}  # type: ignore[attr-defined]


TEASER = f"<p>{LEDE}</p><section>Subscribe to continue.</section>"


def test_a_properly_gated_page_passes() -> None:
    report = audit_html(page(TEASER), "gated.html")
    assert not report.leaks, report.to_text()
    assert levels(report)["paywall markup"] == "ok"


def test_a_client_side_paywall_leaks_the_body_in_html() -> None:
    body = (
        f"<p>{LEDE}</p><div class='paywall' style='display:none'>"
        + "".join(f"<p>{p}</p>" for p in BODY)
        + "</div>"
    )
    report = audit_html(page(body), "leaky.html")
    assert levels(report)["body in HTML"] == "leak"
    assert "Result: " in report.to_text() and "LEAK" in report.to_text()


def test_jsonld_article_body_leaks() -> None:
    data = {"@type": "NewsArticle", "articleBody": " ".join(BODY)}
    head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
    assert levels(audit_html(page(TEASER, head), "x"))["JSON-LD articleBody"] == "leak"


def test_hydration_state_leaks() -> None:
    state = {"content_elements": [{"type": "text", "content": p} for p in BODY]}
    head = f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(state)}</script>'
    assert levels(audit_html(page(TEASER, head), "x"))["hydration state"] == "leak"
    js = f"<script>window.__NUXT__=(function(a){{return a}}({json.dumps(' '.join(BODY))}))</script>"
    assert levels(audit_html(page(TEASER, js), "x"))["hydration state"] == "leak"


def test_base64_noscript_template_and_comment_copies_leak() -> None:
    encoded = base64.b64encode(" ".join(BODY).encode()).decode()
    report = audit_html(
        page(
            TEASER
            + f"<noscript>{' '.join(BODY)}</noscript>"
            + f"<div data-x='{encoded}'></div><!-- {' '.join(BODY)} -->"
        ),
        "x",
    )
    assert levels(report)["noscript/template"] == "leak"
    assert levels(report)["comments/attributes"] == "leak"


def test_missing_paywall_markup_is_a_warning_not_a_leak() -> None:
    report = audit_html(page(TEASER, paywall_markup=False), "x")
    assert levels(report)["paywall markup"] == "warning"
    assert not report.leaks


def test_related_story_summaries_are_not_mistaken_for_a_leak() -> None:
    related = {"related": [{"summary": "A short summary of another story about the pier."}] * 3}
    head = f'<script type="application/json">{json.dumps(related)}</script>'
    assert levels(audit_html(page(TEASER, head), "x"))["hydration state"] == "ok"


def test_feed_items_with_full_text_leak() -> None:
    paragraphs = "".join(f"<p>{p}</p>" for p in BODY)
    item = f"<item><description><![CDATA[{paragraphs}]]></description></item>"
    assert audit_feed(f"<rss><channel>{item}</channel></rss>".encode(), 120).level == "leak"
    short = f"<item><description>{LEDE}</description></item>"
    assert audit_feed(f"<rss><channel>{short}</channel></rss>".encode(), 120).level == "ok"


def test_json_report() -> None:
    data = json.loads(audit_html(page(TEASER), "x").to_json())
    assert data["leak_count"] == 0 and data["source"] == "x"


PROSE_LEDE = (
    "The council met on Tuesday night to settle the future of the old harbor, officials said."
)
PROSE_BODY = [
    "Members voted seven to two to dredge the channel before the spring fishing season, "
    f"ending a dispute that had split the town for {i + 3} years and cost two harbor masters "
    "their jobs along the way."
    for i in range(8)
]


def gated_page(head: str = "", extra: str = "") -> str:
    """A correctly gated page: the lede visible, nothing else of the body anywhere."""
    return page(f"<p>{PROSE_LEDE}</p><section>Subscribe to continue.</section>{extra}", head)


def leak_of(report: object, channel: str) -> Finding:
    found = [f for f in report.findings if f.level == "leak" and f.channel == channel]  # type: ignore[attr-defined]
    assert found, report.to_text()  # type: ignore[attr-defined]
    return found[0]


def test_rich_text_runs_in_hydration_state_are_a_leak_with_channel_and_passage() -> None:
    state = {"props": {"pageProps": {"post": {"body": portable_text([PROSE_LEDE, *PROSE_BODY])}}}}
    head = f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(state)}</script>'
    report = audit_html(gated_page(head), "x")
    finding = leak_of(report, "script/hydration state")
    assert "Members voted seven to two" in finding.passage
    assert "leaked:" in report.to_text() and "Members voted" in report.to_text()


def test_rich_text_in_apollo_state_and_attributes_is_a_leak() -> None:
    apollo = json.dumps({"Post:1": {"body": {"json": contentful([PROSE_LEDE, *PROSE_BODY])}}})
    report = audit_html(gated_page(f"<script>window.__APOLLO_STATE__ = {apollo};</script>"), "x")
    assert leak_of(report, "script/hydration state").words >= 100
    props = html.escape(json.dumps({"doc": prosemirror([PROSE_LEDE, *PROSE_BODY])}))
    report = audit_html(gated_page(extra=f'<div data-props="{props}"></div>'), "x")
    assert "Members voted" in leak_of(report, "attribute").passage


def test_jsonld_and_noscript_leaks_name_their_channel() -> None:
    data = {"@type": "NewsArticle", "articleBody": " ".join([PROSE_LEDE, *PROSE_BODY])}
    head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
    assert "Members voted" in leak_of(audit_html(gated_page(head), "x"), "json-ld").passage
    hidden = "<noscript>" + "".join(f"<p>{p}</p>" for p in PROSE_BODY) + "</noscript>"
    assert leak_of(audit_html(gated_page(extra=hidden), "x"), "noscript").words >= 100


NOT_PROSE = {
    "svg path": '<svg><path d="M12 4.5L3 5.25c.4 1.2-2.1 3.3 4 4.5 0 0 1.5-2 7.25-9.5z '
    + " ".join(f"M{i} {i + 1}L{i * 2} {i + 3}" for i in range(80))
    + '"/></svg>',
    "spaced svg path": '<svg><path d="'
    + " ".join(f"M {i} 3 C 5.675 {i} 3 5.67 3 9 L {i}.5 12.32" for i in range(40))
    + '"/></svg>',
    "id lists": f"<div data-ids='{','.join(str(10**14 + i * 7919) for i in range(60))}'></div>",
    "urls": "<script>var links = "
    + json.dumps(
        [f"https://news.example/2026/11/story-number-{i}/?utm_source=x" for i in range(80)]
    )
    + ";</script>",
    "class lists": "<div class='"
    + " ".join(f"flex items-center md:px-{i} lg:text-{i}xl hover:bg-gray-{i}00" for i in range(40))
    + "'>x</div>",
    "javascript": "<script>var s = '"
    + "function(a){return a&&a.b?a.b.c:void 0};if(typeof window!=='undefined'){window.x=1} " * 40
    + "';</script>",
    "css": "<style>"
    + " ".join(f".c{i} {{ color: #{i:03d}; margin: 0 auto; }}" for i in range(200))
    + "</style>",
    "base64 blob": '<img src="data:image/png;base64,'
    + base64.b64encode(bytes(range(256)) * 8).decode()
    + '">',
    "ui labels": "<script>window.i18n = "
    + json.dumps({f"label{i}": f"Sign in to comment {i}" for i in range(80)})
    + ";</script>",
    "related links": '<script type="application/json">'
    + json.dumps(
        {"related": [{"title": f"Another harbor story {i}", "url": f"/s/{i}"} for i in range(40)]}
    )
    + "</script>",
}


def test_code_paths_urls_classes_css_and_blobs_are_never_article_text() -> None:
    for name, markup in NOT_PROSE.items():
        report = audit_html(gated_page(extra=markup), "x")
        assert not report.leaks, (name, report.to_text())


def test_audit_page_is_the_benchmark_entry_point() -> None:
    findings = audit_page(gated_page(), "https://news.example/2026/11/harbor/")
    assert {f.channel for f in findings} >= {"html body", "json-ld", "script/hydration state"}
    assert not [f for f in findings if f.level == "leak"]


def test_probes_cover_every_representation_the_proxy_cuts() -> None:
    state = {"buildId": "b42", "props": {}}
    head = (
        f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(state)}</script>'
        '<link rel="alternate" type="application/feed+json" href="/feed.json">'
        '<link rel="alternate" type="application/rss+xml" href="/feed/">'
        '<link rel="alternate" type="application/json" href="/wp-json/wp/v2/posts/7">'
        '<link rel="amphtml" href="/harbor/amp/">'
    )
    tree = parse(gated_page(head))
    headers = httpx.Headers(
        {
            "link": '<https://news.example/wp-json/wp/v2/posts/7>; rel="alternate"; '
            'type="application/json"'
        }
    )
    found = {
        (p.check, p.url, p.headers) for p in probes(tree, "https://news.example/harbor/", headers)
    }
    urls = {url for _, url, _ in found}
    assert "https://news.example/_next/data/b42/harbor.json" in urls
    assert ("RSC payload", "https://news.example/harbor/", (("RSC", "1"),)) in found
    assert any("_rsc=" in u for u in urls)
    assert "https://news.example/harbor/?format=json" in urls
    assert "https://news.example/harbor/?format=txt" in urls
    assert any(h == (("Accept", "application/json"),) for _, _, h in found)
    assert any(h == (("Accept", "text/plain"),) for _, _, h in found)
    assert any(h == (("X-Requested-With", "XMLHttpRequest"),) for _, _, h in found)
    assert any("print" in u for u in urls)
    assert {"https://news.example/feed.json", "https://news.example/feed/"} <= urls
    assert "https://news.example/wp-json/wp/v2/posts/7" in urls
    assert "https://news.example/harbor/amp/" in urls


def test_nested_media_descriptions_and_json_feeds_are_read() -> None:
    paragraphs = "".join(f"<p>{p}</p>" for p in PROSE_BODY)
    media = (
        '<rss xmlns:media="http://search.yahoo.com/mrss/"><channel><item><title>A</title>'
        f"<media:group><media:description><![CDATA[{paragraphs}]]></media:description>"
        "</media:group></item></channel></rss>"
    )
    finding = audit_feed(media.encode(), 120)
    assert finding.level == "leak" and finding.channel == "feed" and finding.passage
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [{"content_text": " ".join(PROSE_BODY)}],
    }
    assert audit_feed(json.dumps(feed).encode(), 120).level == "leak"
