"""Markdown articles: front matter to fields, body to blocks, and every bad file named by line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterwall.access.model import AccessLevel
from meterwall.content.importers import ImportProblem, parse_markdown, parse_text
from meterwall.content.importers.fields import slugify
from meterwall.content.model import Block, Image

FULL = """\
---
id: harbor-42
slug: dredging-vote
headline: Council splits over dredging
dek: A 4-3 vote sends the plan back.
byline: By Tomasz Reyes-Hallam
section: Local Government
tags: [harbor, council]
published: 2026-11-24T22:15:00-05:00
access: premium
image:
  url: /static/img/harbor.svg
  credit: "Illustration: Harbor Ledger"
  caption: The inner harbor at low water.
  alt: A harbor at low tide.
canonical_url: https://ledger.example/dredging-vote
---

The council voted *4-3* on Tuesday, with [the mayor](https://x.example) dissenting.
Captains shook their heads.

## A question of where the mud goes

> “I want this channel dug.”
> — Ines Farraday, councilor

![Boats at the fish pier](/static/img/pier.svg "Photo: Staff")

The survey goes out to bid in January.
"""


def test_front_matter_fills_every_field() -> None:
    article = parse_markdown(FULL)

    assert article.id == "harbor-42"
    assert article.slug == "dredging-vote"
    assert article.headline == "Council splits over dredging"
    assert article.dek == "A 4-3 vote sends the plan back."
    assert article.byline == "By Tomasz Reyes-Hallam"
    assert article.section == "Local Government"
    assert article.tags == ("harbor", "council")
    assert article.published_at == datetime(2026, 11, 25, 3, 15, tzinfo=UTC)
    assert article.access is AccessLevel.PREMIUM
    assert article.image == Image(
        "/static/img/harbor.svg",
        "Illustration: Harbor Ledger",
        "The inner harbor at low water.",
        "A harbor at low tide.",
    )
    assert article.canonical_url == "https://ledger.example/dredging-vote"


def test_body_becomes_paragraphs_subheads_quotes_and_images() -> None:
    article = parse_markdown(FULL)

    assert article.body == (
        Block(
            "paragraph",
            "The council voted 4-3 on Tuesday, with the mayor dissenting. "
            "Captains shook their heads.",
        ),
        Block("subhead", "A question of where the mud goes"),
        Block("quote", "“I want this channel dug.”", "Ines Farraday, councilor"),
        Block(
            "image",
            image=Image(
                "/static/img/pier.svg",
                "Photo: Staff",
                "Boats at the fish pier",
                "Boats at the fish pier",
            ),
        ),
        Block("paragraph", "The survey goes out to bid in January."),
    )


def test_quote_without_attribution_and_with_a_separate_attribution_paragraph() -> None:
    text = "---\nheadline: H\n---\n\nLede.\n\n> Just words.\n\n> Said this.\n>\n> -- Ana\n"
    quotes = [b for b in parse_markdown(text).body if b.kind == "quote"]
    assert quotes == [Block("quote", "Just words."), Block("quote", "Said this.", "Ana")]


def test_defaults_and_derived_slug_and_id() -> None:
    article = parse_markdown("---\ntitle: Harbor\u2019s Café Reopens — At Last!\n---\nLede.\n")

    assert article.headline == "Harbor\u2019s Café Reopens — At Last!"
    assert article.slug == "harbors-cafe-reopens-at-last"
    assert article.id == article.slug
    assert article.access is AccessLevel.METERED
    assert article.published_at is None
    assert article.image is None
    assert article.tags == ()


def test_leading_h1_is_the_headline_when_front_matter_has_none() -> None:
    article = parse_markdown("# Tide tables go digital\n\nThe lede.\n\n# Later heading\n")
    assert article.headline == "Tide tables go digital"
    assert article.body == (Block("paragraph", "The lede."), Block("subhead", "Later heading"))


def test_naive_dates_are_in_the_publishers_time_zone() -> None:
    text = "---\nheadline: H\ndate: 2026-07-01 08:00\n---\nLede.\n"
    article = parse_markdown(text, timezone="America/New_York")
    assert article.published_at == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert parse_markdown("---\nheadline: H\ndate: 2026-07-01\n---\nL.\n").published_at == (
        datetime(2026, 7, 1, tzinfo=UTC)
    )


def test_tags_as_a_comma_separated_string_are_trimmed_and_deduplicated() -> None:
    article = parse_markdown("---\nheadline: H\ntags: harbor, Council , harbor,,\n---\nL.\n")
    assert article.tags == ("harbor", "Council")


def test_lists_become_numbered_or_bulleted_paragraphs() -> None:
    body = parse_markdown("---\nheadline: H\n---\nLede.\n\n1. one\n2. two\n\n- a\n").body
    assert [b.text for b in body] == ["Lede.", "1. one", "2. two", "• a"]


def test_raw_html_stays_visible_text() -> None:
    body = parse_markdown("---\nheadline: H\n---\n<script>alert(1)</script> hi\n").body
    assert body == (Block("paragraph", "<script>alert(1)</script> hi"),)


def test_windows_line_endings_are_accepted() -> None:
    article = parse_markdown("---\r\nheadline: H\r\n---\r\n\r\nLede.\r\n")
    assert article.headline == "H"
    assert article.body == (Block("paragraph", "Lede."),)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("---\nheadline: H\naccess: paid\n---\nL.\n", 3, "unknown access value 'paid'"),
        ("---\nheadline: H\n\npublished: 2026-13-45\n---\nL.\n", 4, "bad date"),
        ("---\nheadline: H\npublished: next tuesday\n---\nL.\n", 3, "bad date"),
        ("---\nheadline: [unclosed\n---\nL.\n", 2, "bad YAML"),
        ("---\nheadline: H\nbyline: a: b\n---\nL.\n", 3, "bad YAML"),
        ("---\ndek: D\n---\nL.\n", 1, "missing headline"),
        ("---\nheadline: H\n---\n\n## Only a subhead\n", 4, "empty body"),
        ("---\nheadline: H\n---\n", 4, "empty body"),
        ("---\nheadline: H\nacess: premium\n---\nL.\n", 3, "unknown front-matter key 'acess'"),
        ("---\nheadline: H\nslug: Not A Slug\n---\nL.\n", 3, "slug 'Not A Slug' must be"),
        ("---\nheadline: H\n---\nL.\n\n![x](img/pier.jpg)\n", 6, "image URL"),
        ("---\nheadline: H\nimage: {url: ftp://x/y.jpg}\n---\nL.\n", 3, "image URL"),
        ("---\nheadline: H\nimage: {url: /a.svg, size: 3}\n---\nL.\n", 3, "unknown image key"),
        ("---\nheadline: H\ntags: {a: 1}\n---\nL.\n", 3, "tags must be a list"),
        ("---\nheadline: yes\n---\nL.\n", 2, "headline must be text"),
        ("---\nheadline: H\ntitle: T\n---\nL.\n", 3, "not both"),
        ("---\nheadline: H\ncanonical_url: /x\n---\nL.\n", 3, "canonical_url"),
        ("---\n- just\n- a list\n---\nL.\n", 2, "must be 'key: value' lines"),
        ("---\nheadline: H\nL.\n", 1, "never closed"),
        ("---\nheadline: " + "x" * 301 + "\n---\nL.\n", 2, "headline is 301 characters"),
        ("---\nheadline: '!!!'\n---\nL.\n", 2, "cannot make a slug"),
    ],
)
def test_bad_files_are_reported_with_their_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ImportProblem) as caught:
        parse_markdown(text)
    assert words in caught.value.message
    assert caught.value.line == line
    assert caught.value.located("story.md").startswith(f"story.md:{line}: ")


def test_slugify_makes_lowercase_ascii_hyphenated_names() -> None:
    assert slugify("  US and China sit down -- for a belated talk!  ") == (
        "us-and-china-sit-down-for-a-belated-talk"
    )
    assert slugify("The “new” ferry to Île-d\u2019Oléron") == "the-new-ferry-to-ile-doleron"
    long = slugify("word " * 40)
    assert len(long) <= 80 and not long.endswith("-")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(),
        st.text().map(lambda body: "---\nheadline: H\n---\n" + body),
        st.text().map(lambda head: "---\n" + head + "\n---\nLede.\n"),
        st.lists(
            st.sampled_from(
                ["---", "headline: x", "# H", "> q", "> — a", "![c](/i.svg)", "- i", "", "&amp;"]
            )
        ).map("\n".join),
    )
)
def test_importers_never_crash(text: str) -> None:
    """Whatever a file holds, the answer is an article or a located problem, in both formats."""
    for parse in (parse_markdown, parse_text):
        try:
            article = parse(text)
        except ImportProblem as problem:
            assert problem.message
            assert problem.line >= 0
        else:
            assert article.headline
            assert any(b.kind == "paragraph" for b in article.body)


@pytest.mark.parametrize(
    ("headline", "slug"),
    [
        ("Łódź mayor resigns", "lodz-mayor-resigns"),
        ("Η Αθήνα ψηφίζει για το λιμάνι", "e-athena-psephizei-gia-to-limani"),  # noqa: RUF001
        ("Москва: новый мост открыт", "moskva-novyi-most-otkryt"),
        ("北京的港口重新开放", "bei-jing-de-gang-kou-zhong-xin-kai-fang"),
        ("Zażółć gęślą jaźń", "zazolc-gesla-jazn"),
    ],
)
def test_headlines_in_every_script_get_a_readable_slug(headline: str, slug: str) -> None:
    assert slugify(headline) == slug
