"""Removing gated text from scripts and JSON without breaking what carries none."""

from __future__ import annotations

import json

from meterwall.gateway.scrub import js_segments, scrub_js, scrub_json, scrub_tree
from meterwall.gateway.text import Fingerprint
from meterwall.gateway.tree import parse

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


def test_long_pieces_of_a_split_text_are_each_emptied() -> None:
    halves = SECRET.split(" quietly ")
    code = f'x = "{halves[0]} " + "quietly " + "{halves[1]}";'
    assert scrub_js(code, FP) == 'x = "" + "quietly " + "";'


def test_text_split_into_tiny_literals_drops_the_script() -> None:
    pieces = SECRET.split(" ")
    code = "x = " + " + ".join(json.dumps(p + " ") for p in pieces) + ";"
    assert scrub_js(code, FP) == ""


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
