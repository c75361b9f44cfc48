"""Fingerprints find gated text however a page encodes it."""

from __future__ import annotations

import base64
import html
import json
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from meterwall.gateway.text import Fingerprint, shingles, unescape_js, word_count
from tests.fixtures.richtext import contentful, portable_text, prosemirror, runs, slate

SECRET = "The harbor master quietly resigned on Friday after the audit found missing funds."
LEDE = "The harbor reopened on Monday morning under a bright and windy sky."
FP = Fingerprint.of([SECRET], [LEDE])

ENCODINGS = {
    "plain": lambda s: s,
    "html entities": lambda s: html.escape(s).replace(" ", "&#32;"),
    "json string": lambda s: json.dumps(s, ensure_ascii=True),
    "json in html": lambda s: json.dumps(f"<p>{s}</p>").replace("<", "\\u003c"),
    "percent": lambda s: quote(s),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "urlsafe base64": lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("="),
    "base64 of json": lambda s: base64.b64encode(json.dumps({"b": s}).encode()).decode(),
    "json string of json": lambda s: json.dumps(json.dumps({"body": s})),
    "inline tags": lambda s: s.replace("quietly", "<em>quietly</em>").replace(
        "audit", "<a href=x>audit</a>"
    ),
}


def test_every_encoding_is_recognised() -> None:
    for name, encode in ENCODINGS.items():
        assert FP.found_in(f"var x = {encode(SECRET)};"), name


def test_the_teaser_itself_is_not_a_leak() -> None:
    assert not FP.found_in(LEDE)
    assert not Fingerprint.of([LEDE + " " + SECRET], [LEDE]).found_in(LEDE)


def test_unrelated_text_is_not_a_leak() -> None:
    assert not FP.found_in("The harbor master waved at the boats on Friday afternoon.")


def test_an_empty_fingerprint_finds_nothing() -> None:
    empty = Fingerprint.of([], [])
    assert not empty and not empty.found_in(SECRET)


def test_a_short_gated_sentence_is_recognised_as_a_whole_value() -> None:
    short = Fingerprint.of(["He declined."], [])
    assert short.found_in("He declined.")
    assert short.found_in("\u003cp\u003eHe declined.\u003c/p\u003e")
    assert not short.found_in("He declined to say more about the harbor that day at all.")


def test_unescape_js_handles_every_escape_form() -> None:
    assert unescape_js(r"\u003cp\u003e \x41 \u{1F600} \n \/ \"") == '<p> A \U0001f600 \n / "'


def test_word_count_and_shingles() -> None:
    assert word_count("one, two; three") == 3
    assert shingles("One two three four five six") == shingles("one TWO three, four five six!")


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=9),
        min_size=6,
        max_size=30,
    ),
    encoding=st.sampled_from(sorted(ENCODINGS)),
    before=st.text(max_size=40),
    after=st.text(max_size=40),
)
def test_any_gated_sentence_in_any_encoding_is_found(
    words: list[str], encoding: str, before: str, after: str
) -> None:
    sentence = " ".join(words)
    fingerprint = Fingerprint.of([sentence])
    encoded = ENCODINGS[encoding](sentence)
    assert fingerprint.found_in(before + " " + encoded + " " + after)


RICH_LEDE = "The council met on Tuesday night to settle the future of the old harbor."
RICH_GATED = [
    "Members voted seven to two to dredge the channel before the spring fishing season.",
    "Crews said the silt had grown so deep that larger boats could only leave at high tide.",
    "The work will cost four million dollars, most of it from a state grant awarded in May.",
]
RICH_FP = Fingerprint.of(RICH_GATED, [RICH_LEDE])
RICH_SHAPES = {
    "portable text": lambda ps: {"body": portable_text(ps)},
    "contentful": lambda ps: {"fields": {"body": contentful(ps)}},
    "prosemirror": prosemirror,
    "slate": slate,
}


def test_rich_text_split_into_short_runs_is_recognised_in_every_shape() -> None:
    for name, shape in RICH_SHAPES.items():
        data = shape([RICH_LEDE, *RICH_GATED])
        code = json.dumps(data)
        assert RICH_FP.found_in(code), name
        assert RICH_FP.found_in(f"window.__APOLLO_STATE__ = JSON.parse({json.dumps(code)});"), name
        attribute = html.escape(code)
        assert RICH_FP.found_in(f'<div data-props="{attribute}"></div>'), name
        # One gated paragraph is enough to be caught.
        assert RICH_FP.found_in(json.dumps(shape([RICH_GATED[1]]))), name


def test_rich_text_of_the_lede_alone_is_not_a_leak() -> None:
    for name, shape in RICH_SHAPES.items():
        assert not RICH_FP.found_in(json.dumps(shape([RICH_LEDE]))), name


def test_carriers_names_every_run_of_a_gated_paragraph_and_no_other() -> None:
    values = ["Site menu", *runs(RICH_LEDE), "span", *runs(RICH_GATED[0]), "Footer links here"]
    keys = [
        None,
        *(["text"] * len(runs(RICH_LEDE))),
        "_type",
        *(["text"] * len(runs(RICH_GATED[0]))),
        None,
    ]
    found = RICH_FP.carriers(values, keys)
    first = 2 + len(runs(RICH_LEDE))
    assert found == set(range(first, first + len(runs(RICH_GATED[0]))))


def test_carriers_join_a_word_split_across_runs() -> None:
    values = ["Members voted se", "ven to two to dr", "edge the channel"]
    assert RICH_FP.carriers(values) == {0, 1, 2}
