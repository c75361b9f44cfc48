"""The leak audit on pages it has never seen: leaky ones fail, properly gated ones pass."""

from __future__ import annotations

import base64
import json

from meterwall.gateway.audit import audit_feed, audit_html

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
