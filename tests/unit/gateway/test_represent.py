"""The cut phase for representations: known shapes cut to the lede, the rest refused."""

from __future__ import annotations

import json

import pytest

from meterwall.gateway.config import PageRules
from meterwall.gateway.represent import cut_article, cut_listing, describes_an_api
from meterwall.gateway.text import Fingerprint
from tests.factories import gated_fragments
from tests.fixtures.upstream.site import ARTICLES, blocks, plain_body, wp_post

RULES = PageRules(public_url="http://news.example")
ARTICLE = ARTICLES[1]
LEDE = ARTICLE.body[0].text
GATED = Fingerprint.of(gated_fragments(ARTICLE), [LEDE])
OTHER_PROSE = (
    "The council met on Tuesday and voted to close the harbor gates for the winter. "
    "Fishers said the decision came too late for the season, and asked for a delay."
)


def _no_gated_text(body: bytes) -> None:
    text = body.decode()
    for fragment in gated_fragments(ARTICLE):
        assert fragment not in text
        assert json.dumps(fragment)[1:-1] not in text


LISTINGS = {
    "wordpress": [wp_post(1), wp_post(2)],
    "ghost": {"posts": [{"id": "g1", "title": "T", "html": blocks(ARTICLE), "excerpt": LEDE}]},
    "jsonapi": {"data": [{"attributes": {"body": {"value": blocks(ARTICLE), "summary": ""}}}]},
    "nextjs": {
        "pageProps": {"elements": [{"content": b.text} for b in ARTICLE.body if b.text]},
        "__N_SSP": True,
    },
}


@pytest.mark.parametrize("shape", LISTINGS)
def test_known_shapes_are_cut_to_the_lede(shape: str) -> None:
    cut = cut_listing("json", json.dumps(LISTINGS[shape]), RULES)
    assert cut is not None
    _no_gated_text(cut.body)
    assert LEDE in cut.body.decode()
    assert cut.fingerprint.found_in(plain_body(ARTICLE))
    json.loads(cut.body)


def test_a_wordpress_excerpt_that_repeats_the_body_is_emptied() -> None:
    cut = cut_listing("json", json.dumps([wp_post(1)]), RULES)
    assert cut is not None
    assert json.loads(cut.body)[0]["excerpt"]["rendered"] == ""
    assert json.loads(cut.body)[0]["title"]["rendered"] == "Headline of story 1"


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("json", json.dumps({"stories": [{"text": plain_body(ARTICLE)}]})),
        ("json", json.dumps([wp_post(1) | {"acf": {"long_read": OTHER_PROSE}}])),
        ("rsc", '0:["$","p",null,{"children":"x"}]'),
        ("text", plain_body(ARTICLE)),
        ("fragment", blocks(ARTICLE)),
        ("json", "not json"),
    ],
    ids=["unknown-shape", "prose-left-over", "rsc", "text", "fragment", "broken-json"],
)
def test_what_has_no_cutter_is_refused(kind: str, text: str) -> None:
    assert cut_listing(kind, text, RULES) is None  # type: ignore[arg-type]


def test_an_articles_json_keeps_only_what_is_not_gated() -> None:
    data = {"headline": ARTICLE.headline, "body": blocks(ARTICLE), "lede": LEDE}
    cut = cut_article("json", json.dumps(data), GATED, RULES)
    assert cut is not None
    _no_gated_text(cut)
    assert json.loads(cut)["headline"] == ARTICLE.headline


def test_an_articles_text_keeps_the_paragraphs_before_the_gated_ones() -> None:
    cut = cut_article("text", f"{ARTICLE.headline}\n\n{plain_body(ARTICLE)}\n", GATED, RULES)
    assert cut is not None
    assert cut.decode() == f"{ARTICLE.headline}\n\n{LEDE}"


def test_an_articles_fragment_loses_its_gated_elements() -> None:
    cut = cut_article("fragment", f'<div class="c">{blocks(ARTICLE)}</div>', GATED, RULES)
    assert cut is not None
    _no_gated_text(cut)
    assert LEDE in cut.decode()


@pytest.mark.parametrize("kind", ["rsc", "other"])
def test_an_articles_representation_without_a_cutter_is_refused(kind: str) -> None:
    assert cut_article(kind, plain_body(ARTICLE), GATED, RULES) is None  # type: ignore[arg-type]


def test_nothing_known_to_be_gated_is_refused() -> None:
    assert cut_article("text", plain_body(ARTICLE), Fingerprint.of([]), RULES) is None


def test_an_api_describing_itself_is_told_from_one_handing_out_posts() -> None:
    index = {"name": "News", "namespaces": ["wp/v2"], "routes": {"/wp/v2/posts": {}}}
    openapi = {"openapi": "3.1.0", "paths": {"/posts": {}}}
    posts = [{"content": {"rendered": "<p>A long story.</p>"}}]
    assert describes_an_api("json", json.dumps(index))
    assert describes_an_api("json", json.dumps(openapi))
    assert not describes_an_api("json", json.dumps(posts))
    assert not describes_an_api("json", json.dumps({"routes": {}, "posts": posts}))
    assert not describes_an_api("text", json.dumps(index))
