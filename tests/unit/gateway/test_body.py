"""The automatic body finder, on markedly different layouts with meaningless class names.

None of these layouts uses a CMS's class names: the finder must rely on
paragraph density alone, the way it must on sites it has never seen.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborNode

from meterwall.gateway.body import find_body, lede, lede_end, lede_paragraphs, select_body
from meterwall.gateway.tree import parse, text_of

SENTENCES = [
    "The council voted late on Tuesday to keep the harbor open through the winter season.",
    "Fishing crews had warned that a closure would cost them most of their yearly income.",
    "Officials said the decision would be reviewed again in the spring after new surveys.",
    "Residents packed the hall, and several speakers asked for a longer public comment period.",
    "The mayor said the town could not afford to lose its oldest industry this year.",
    "Engineers estimate that dredging the channel will take at least three more months.",
    "Opponents argued the money would be better spent on the crumbling sea wall instead.",
    "A final budget will be presented to the council at its meeting in late January.",
]
NAV = "".join(f'<a href="/s{i}">Section {i}</a> ' for i in range(12))


def paragraphs(tag: str = "p", attrs: str = "") -> list[str]:
    return [f"<{tag}{attrs}>BODY-{i} {s}</{tag}>" for i, s in enumerate(SENTENCES)]


def page(main: str, extra: str = "") -> str:
    return (
        f"<!doctype html><html><head><title>t</title></head><body>"
        f'<div class="q1"><div class="q2">{NAV}</div></div>{main}{extra}'
        f'<div class="q9"><p>Copyright the publisher. {NAV}</p></div></body></html>'
    )


def body_text(main: str, extra: str = "") -> tuple[LexborNode, str]:
    tree = parse(page(main, extra))
    body = find_body(tree)
    assert body is not None
    return body, text_of(body)


def assert_whole_body(text: str) -> None:
    for i in range(len(SENTENCES)):
        assert f"BODY-{i}" in text, f"paragraph {i} is outside the found body"
    assert "Section 3" not in text, "navigation was taken for the body"


def test_flat_paragraphs() -> None:
    _, text = body_text(
        f'<div class="x7"><h1>Title</h1><div class="k2">{"".join(paragraphs())}</div></div>'
    )
    assert_whole_body(text)


def test_each_paragraph_in_its_own_wrapper() -> None:
    wrapped = "".join(f'<div class="z3"><div class="z4">{p}</div></div>' for p in paragraphs())
    body, text = body_text(f'<section class="r1">{wrapped}</section>')
    assert_whole_body(text)
    assert body.tag == "section"


def test_body_split_into_chunks_between_ads() -> None:
    chunks = paragraphs()
    main = (
        '<div class="m0"><div class="c1">' + "".join(chunks[:3]) + "</div>"
        '<div class="b2"><span>Advertisement</span></div><div class="c1">'
        + "".join(chunks[3:6])
        + '</div><div class="b2"><span>Advertisement</span></div><div class="c1">'
        + "".join(chunks[6:])
        + "</div></div>"
    )
    _, text = body_text(main)
    assert_whole_body(text)


def test_text_separated_by_line_breaks() -> None:
    text_body = "<br><br>".join(f"BODY-{i} {s}" for i, s in enumerate(SENTENCES))
    _, text = body_text(
        f'<table><tr><td class="t"><font size="2">{text_body}</font></td></tr></table>'
    )
    assert_whole_body(text)


def test_comment_thread_and_sidebar_are_not_the_body() -> None:
    comments = "".join(
        f'<li class="u{i}"><p>Reader {i} says: what a thoughtful and well reported article, '
        "thank you for covering our harbor.</p></li>"
        for i in range(4)
    )
    sidebar = "".join(
        f'<div class="s"><p><a href="/r{i}">Related story number {i} about something else '
        "entirely in another town</a></p></div>"
        for i in range(6)
    )
    main = f'<div class="w"><div class="a1">{"".join(paragraphs())}</div></div>'
    extra = f'<div id="comments"><ol>{comments}</ol></div><aside class="y">{sidebar}</aside>'
    _, text = body_text(main, extra)
    assert_whole_body(text)
    assert "Reader 1 says" not in text
    assert "Related story" not in text


def test_a_body_hidden_until_a_script_reveals_it_is_still_the_body() -> None:
    ps = paragraphs()
    main = (
        f'<div class="g"><p>{SENTENCES[0]}</p><div class="h" hidden>{"".join(ps[1:])}</div></div>'
    )
    _, text = body_text(main)
    assert "BODY-5" in text


def test_a_page_wrapped_in_a_form_like_aspnet() -> None:
    html = (
        '<!doctype html><html><body><form id="aspnetForm" action="/x">'
        f'<div class="n">{NAV}</div><div class="p">{"".join(paragraphs())}</div>'
        "</form></body></html>"
    )
    body = find_body(parse(html))
    assert body is not None
    assert_whole_body(text_of(body))


def test_article_element_with_header_and_footer_picks_the_text_column() -> None:
    main = (
        '<article class="v"><header><h1>Headline</h1><p class="by">By A Writer, staff reporter '
        'covering the waterfront and the council</p></header><figure><img src="x.jpg">'
        "<figcaption>A long caption describing the harbor at dawn with boats leaving.</figcaption>"
        f'</figure><div class="j">{"".join(paragraphs())}</div>'
        "<footer><p>Tags: harbor, council, fishing, winter, budget, sea wall, dredging</p></footer>"
        "</article>"
    )
    body, text = body_text(main)
    assert_whole_body(text)
    assert body.attributes.get("class") == "j"


JAPANESE = (
    "港の再開について市議会は火曜日の夜遅くに冬の間も営業を続けることを決めた。"
    "漁業関係者は歓迎した。"
)


def test_non_latin_prose() -> None:
    japanese = [f"<p>BODY-{i} {JAPANESE}</p>" for i in range(8)]
    tree = parse(page(f'<div class="x">{"".join(japanese)}</div>'))
    body = find_body(tree)
    assert body is not None
    assert "BODY-7" in text_of(body)


def test_a_front_page_of_short_summaries_has_no_single_body() -> None:
    cards = "".join(
        f'<article class="c"><h2><a href="/a{i}">Story {i}</a></h2><p>Short summary.</p></article>'
        for i in range(10)
    )
    assert find_body(parse(page(f"<main>{cards}</main>"))) is None


def test_a_page_without_prose_has_no_body() -> None:
    assert (
        find_body(parse(page('<div class="g"><img src="a.jpg"><p>Photo gallery</p></div>'))) is None
    )


def test_publisher_selector_wins_and_several_matches_mean_their_ancestor() -> None:
    html = page(
        '<div id="root"><div class="part">'
        + "".join(paragraphs()[:4])
        + '</div><div class="ad">Ad</div><div class="part">'
        + "".join(paragraphs()[4:])
        + "</div></div>"
    )
    body = select_body(parse(html), ".part")
    assert body is not None and body.attributes.get("id") == "root"
    assert select_body(parse(html), ".missing") is None


def test_lede_is_the_first_real_paragraph_after_short_ones() -> None:
    html = page(
        '<div class="k"><p>Updated 5 p.m.</p><figure><figcaption>A caption that is long enough to '
        "count as a paragraph of text</figcaption></figure>" + "".join(paragraphs()) + "</div>"
    )
    tree = parse(html)
    body = find_body(tree)
    assert body is not None
    # Each paragraph is under 25 words, so the lede is two of them.
    end = lede_end(body, 1)
    assert end is not None and text_of(end).startswith("BODY-1")
    second = lede_end(body, 2)
    assert second is not None and text_of(second).startswith("BODY-3")
    assert all("caption" not in text_of(p) for p in lede_paragraphs(body))


_CLASS = st.text(alphabet=string.ascii_lowercase + "-", min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(
    wrappers=st.lists(_CLASS, min_size=0, max_size=4),
    body_class=_CLASS,
    paragraph_wrap=st.booleans(),
    sidebar=st.integers(min_value=0, max_value=5),
)
def test_layout_noise_never_moves_the_body(
    wrappers: list[str], body_class: str, paragraph_wrap: bool, sidebar: int
) -> None:
    ps = paragraphs()
    if paragraph_wrap:
        ps = [f'<div class="{body_class}-p">{p}</div>' for p in ps]
    main = f'<div class="{body_class}">{"".join(ps)}</div>'
    for name in wrappers:
        main = f'<div class="{name}">{main}</div>'
    extra = "".join(
        f'<div class="{body_class}x"><a href="/x{i}">Another headline about the town</a></div>'
        for i in range(sidebar)
    )
    _, text = body_text(main, extra)
    assert_whole_body(text)


def test_a_related_links_list_is_not_the_body() -> None:
    related = "".join(
        f'<li><a href="/r{i}">Another long headline about the harbor and its future plans {i}</a>'
        "</li>"
        for i in range(10)
    )
    _, text = body_text(f'<div class="c">{"".join(paragraphs())}</div>', f"<ul>{related}</ul>")
    assert_whole_body(text)
    assert "Another long headline" not in text


def test_a_tweet_embed_is_not_the_body_of_a_line_broken_story() -> None:
    story = "<br>".join(f"BODY-{i} {s}" for i, s in enumerate(SENTENCES))
    tweet = (
        '<blockquote class="twitter-tweet"><p>TWEET What a day at the harbor, the whole town '
        "came out to see the boats and nobody wanted to go home before dark.</p>"
        "<p>TWEET More pictures to follow tomorrow from the harbor festival and the parade.</p>"
        "</blockquote>"
    )
    _, text = body_text(f'<div class="s1">{story}<div class="e">{tweet}</div></div>')
    assert_whole_body(text)


def test_a_site_footer_is_not_the_body_of_a_list_story() -> None:
    steps = "".join(f"<li>BODY-{i} {s}</li>" for i, s in enumerate(SENTENCES))
    legal = "".join(
        "<p>All content on this site is protected by copyright and may not be reproduced "
        "without written permission from the publisher.</p>"
        for _ in range(4)
    )
    body, text = body_text(f'<div class="r"><ol>{steps}</ol></div>', f"<footer>{legal}</footer>")
    assert_whole_body(text)
    assert "copyright" not in text
    assert body.tag == "div"


def test_prose_spread_over_the_whole_page_body_is_not_a_body() -> None:
    html = (
        "<!doctype html><html><body>"
        + "<br>".join(f"BODY-{i} {s}" for i, s in enumerate(SENTENCES))
        + "</body></html>"
    )
    assert find_body(parse(html)) is None


def lede_text(main: str) -> str:
    body = find_body(parse(page(main)))
    assert body is not None
    return " ".join(p.text for p in lede(body))


LONG = (
    "LEDE The harbor reopened on Monday after a winter of repairs, and dozens of fishing "
    "boats left before dawn for the first time since the storm in November."
)


def story(before: str) -> str:
    rest = "".join(paragraphs()[1:])
    return f'<div class="k">{before}<p>{LONG}</p>{rest}</div>'


@pytest.mark.parametrize(
    "before",
    [
        '<figure><img src="a.jpg"><figcaption>CAPTION Boats at dawn in the harbor on Monday '
        "morning, as seen from the pier.</figcaption></figure>",
        '<p class="credit">CREDIT Photograph by a staff photographer for the paper</p>',
        '<div class="gallery"><p>CAPTION Gallery: twelve photographs of the harbor reopening '
        "on Monday morning</p></div>",
        '<div class="video-title"><p>CAPTION Watch: the first boats leave the harbor after '
        "the long winter repairs</p></div>",
        '<p class="dek">CAPTION A winter of repairs ends as the town celebrates the return '
        "of its oldest industry and its boats</p>",
    ],
    ids=["caption", "credit", "gallery-title", "video-title", "dek"],
)
def test_the_lede_is_the_first_real_paragraph(before: str) -> None:
    text = lede_text(story(before))
    assert "LEDE The harbor reopened" in text
    assert "BODY-1" not in text


@pytest.mark.parametrize(
    "before", ["<p>HAMBURG, March 3 —</p>", "<p>By Jane Writer, Harbor Reporter</p>"]
)
def test_datelines_and_bylines_stay_before_the_lede(before: str) -> None:
    text = lede_text(story(before))
    assert "LEDE The harbor reopened" in text
    assert "BODY-1" not in text


def test_a_short_first_paragraph_is_joined_with_the_next() -> None:
    main = (
        '<div class="k"><p>SHORT The harbor is open again.</p>'
        + f"<p>{LONG}</p>"
        + "".join(paragraphs()[1:])
        + "</div>"
    )
    text = lede_text(main)
    assert "SHORT" in text and "LEDE" in text and "BODY-1" not in text


def test_line_broken_paragraphs_are_separate_paragraphs() -> None:
    broken = "<br><br>".join([LONG, *(f"BODY-{i} {s}" for i, s in enumerate(SENTENCES))][:6])
    main = f'<div class="k"><p>{broken}</p>{"".join(paragraphs()[6:])}</div>'
    text = lede_text(main)
    assert "LEDE" in text and "BODY-0" not in text


def test_a_layout_wrapper_named_like_furniture_still_holds_the_body() -> None:
    main = f'<div class="content-sidebar-wrap"><div class="e">{"".join(paragraphs())}</div></div>'
    _, text = body_text(main)
    assert_whole_body(text)


def test_a_long_comment_thread_is_never_the_body() -> None:
    comments = "".join(
        f"<p>Reader {i} writes: I have lived by this harbor for forty years and never "
        "seen a winter like this one, the boats deserve better.</p>"
        for i in range(12)
    )
    main = (
        f'<div class="a">{"".join(paragraphs()[:3])}</div>'
        f'<div class="comment-list">{comments}</div>'
    )
    body = find_body(parse(page(main)))
    assert body is None or "Reader 3 writes" not in text_of(body)
