"""Removing gated text from scripts and JSON without breaking what carries none."""

from __future__ import annotations

import json

from meterwall.gateway.scrub import js_segments, scrub_js, scrub_json, scrub_tree
from meterwall.gateway.text import Fingerprint
from meterwall.gateway.tree import parse
from tests.fixtures.richtext import contentful, portable_text, prosemirror, runs, slate
from tests.leaks import recoverable_runs

SECRET = "SECRET-1 The harbor master quietly resigned after the audit found missing funds."
FP = Fingerprint.of([SECRET])


def test_javascript_without_gated_text_is_untouched() -> None:
    code = "var a = 'x' /* c */; // done\nif (a < 2) { b(`t ${a}`); }"
    assert scrub_js(code, FP) == code


def test_string_literals_carrying_gated_text_are_emptied() -> None:
    code = f"window.s = {{title: 'Harbor', body: {json.dumps(SECRET)}}}; run();"
    cleaned = scrub_js(code, FP)
    assert "SECRET" not in cleaned
    assert "title: 'Harbor'" in cleaned and "run();" in cleaned
    assert 'body: ""' in cleaned


def test_json_inside_a_string_is_cleaned_and_stays_json() -> None:
    state = json.dumps({"title": "Harbor", "body": SECRET})
    code = f"var s = JSON.parse({json.dumps(state)});"
    cleaned = scrub_js(code, FP)
    literal = cleaned[cleaned.index("(") + 1 : cleaned.rindex(")")]
    parsed = json.loads(json.loads(literal))
    assert parsed == {"title": "Harbor", "body": ""}


def test_single_quoted_and_template_literals() -> None:
    for code in (f"x='{SECRET}';", f"x=`<p>{SECRET}</p>`;", f"x = '{json.dumps({'b': SECRET})}';"):
        assert "SECRET" not in scrub_js(code, FP), code


def test_comments_carrying_gated_text_are_removed() -> None:
    assert "SECRET" not in scrub_js(f"a(); /* {SECRET} */ b(); // {SECRET}\nc();", FP)


def test_every_piece_of_a_split_text_is_emptied() -> None:
    halves = SECRET.split(" quietly ")
    code = f'x = "{halves[0]} " + "quietly " + "{halves[1]}"; y = "Keep me here";'
    assert scrub_js(code, FP) == 'x = "" + "" + ""; y = "Keep me here";'


def test_text_split_into_tiny_literals_is_emptied_and_the_code_kept() -> None:
    pieces = SECRET.split(" ")
    code = "x = " + " + ".join(json.dumps(p + " ") for p in pieces) + "; run('menu');"
    assert scrub_js(code, FP) == "x = " + " + ".join('""' for _ in pieces) + "; run('menu');"


def test_segments_cover_the_code_exactly() -> None:
    code = "a = 'b\\'c' + \"d\" // e\n/* f */ `g${h}`"
    assert "".join(t for _, t in js_segments(code)) == code


def test_scrub_json_walks_nested_values() -> None:
    data = {"a": [{"b": SECRET}, "keep"], "c": json.dumps({"d": SECRET, "e": 1})}
    cleaned = scrub_json(data, FP)
    assert cleaned["a"] == [{"b": ""}, "keep"]
    assert json.loads(cleaned["c"]) == {"d": "", "e": 1}


def test_scrub_tree_reaches_every_carrier() -> None:
    html = (
        "<html><head><title>t</title>"
        f'<script type="application/json" id="s">{json.dumps({"x": SECRET})}</script>'
        f"<script>var y = {json.dumps(SECRET)};</script>"
        f'<script type="text/template"><p>{SECRET}</p></script></head><body>'
        f"<!-- {SECRET} --><noscript><p>{SECRET}</p></noscript>"
        f"<template><p>{SECRET}</p></template>"
        f"<div data-props='{json.dumps({'b': SECRET})}' title=\"{SECRET}\">ok</div>"
        f'<div style="display:none"><p>{SECRET}</p></div><textarea>{SECRET}</textarea>'
        "<p>Visible text stays.</p></body></html>"
    )
    tree = parse(html)
    scrub_tree(tree, FP, "Headline")
    out = tree.html or ""
    assert "SECRET" not in out
    assert "Visible text stays." in out
    assert '<div data-props="{&quot;b&quot;: &quot;&quot;}">ok</div>' in out


LEDE = "The council met on Tuesday night to settle the future of the old harbor."
GATED = [
    "Members voted seven to two to dredge the channel before the spring fishing season.",
    "Crews said the silt had grown so deep that larger boats could only leave at high tide.",
    "The work will cost four million dollars, most of it from a state grant awarded in May.",
]
RICH = Fingerprint.of(GATED, [LEDE])


def test_rich_text_runs_of_gated_paragraphs_are_emptied_and_the_lede_kept() -> None:
    data = {"title": "Harbor vote", "body": portable_text([LEDE, *GATED]), "nav": ["Home", "News"]}
    cleaned = scrub_json(data, RICH)
    assert not recoverable_runs(json.dumps(cleaned), GATED, [LEDE])
    assert "".join(s["text"] for s in cleaned["body"][0]["children"]) == LEDE
    assert cleaned["title"] == "Harbor vote" and cleaned["nav"] == ["Home", "News"]
    # Structure stays, so the page's renderer still works.
    assert [s["_type"] for s in cleaned["body"][1]["children"]] == ["span"] * len(runs(GATED[0]))
    assert cleaned["body"][1]["children"][1]["marks"] == ["strong", "em"]


def test_rich_text_in_every_carrier_of_a_page_is_removed() -> None:
    doc = [LEDE, *GATED]
    next_data = {"props": {"pageProps": {"post": {"body": portable_text(doc)}}}, "buildId": "b1"}
    apollo = json.dumps({"Post:1": {"body": {"json": contentful(doc)}}})
    page = (
        "<html><head><title>Harbor vote</title>"
        f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(next_data)}</script>'
        f"<script>window.__APOLLO_STATE__ = {apollo}; window.menu = ['Home', 'News'];</script>"
        f"<script>window.__DOC__ = JSON.parse({json.dumps(json.dumps(prosemirror(doc)))});</script>"
        "</head><body><nav>Home News</nav><h1>Harbor vote</h1>"
        f"<div data-props='{json.dumps({'doc': slate(doc)})}'>x</div>"
        f"<p>{LEDE}</p></body></html>"
    )
    tree = parse(page)
    scrub_tree(tree, RICH, "Harbor vote")
    out = tree.html or ""
    assert not recoverable_runs(out, GATED, [LEDE]), recoverable_runs(out, GATED, [LEDE])
    assert "window.menu = ['Home', 'News'];" in out
    assert '"buildId": "b1"' in out or '"buildId":"b1"' in out
    assert "<p>" + LEDE + "</p>" in out
    assert "".join(runs(LEDE)) in "".join(
        s["text"]
        for b in json.loads(tree.css_first("#__NEXT_DATA__").text())["props"]["pageProps"]["post"][
            "body"
        ]
        for s in b["children"]
    )
