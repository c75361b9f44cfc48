"""Plain-text pages: the seed page's layout, its trailing paywall chrome, and bad files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from meterwall.access.model import AccessLevel
from meterwall.content.importers import ImportProblem, parse_text
from meterwall.content.importers.text import is_chrome, is_subhead
from meterwall.content.model import Block, Image

REPO = Path(__file__).resolve().parents[3]
SEED_PAGE = REPO.parent / "shared" / "seed" / "article-page.txt"

CHROME = (
    "of stories this month > Get unlimited stories",
    "3 of 5 stories this month > Get unlimited stories",
    "You've read\u00a0\u00a0of\u00a0\u00a0 free articles. Subscribe to continue.",
    "You\u2019ve read 5 of 5 free articles. Subscribe to continue.",
    "Unlimited digital access $11/month.",
    "Get unlimited Monitor journalism.",
    "Get unlimited Harbor Ledger journalism.",
    "Subscribe to continue reading.",
    "Already a subscriber? Sign in",
)

PAGE = """\
Harbor committee backs a fee holiday

Boat owners who haul out early would pay nothing for a month.

By Example Reporter

/static/img/harbor.svg
Illustration: Harbor Ledger
Boats wait on their cradles
at the city yard.

The committee voted 5-0 on Tuesday.
The vote was quick.

Why now

“It is simple,” the harbor master said.

> “Every boat we haul in November is one we are not chasing in a snowstorm.”
> — Harbor Master Joan Estey

The council takes it up on Dec. 8.


3 of 5 stories this month > Get unlimited stories
You've read 3 of 5 free articles. Subscribe to continue.

Unlimited digital access $11/month.

Get unlimited Harbor Ledger journalism.
"""


@pytest.fixture
def seed_page() -> str:
    if not SEED_PAGE.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the seed page is missing in CI: {SEED_PAGE}")
        pytest.skip(f"the shared seed page is not next to this checkout ({SEED_PAGE})")
    return SEED_PAGE.read_text(encoding="utf-8")


def test_the_real_seed_page_imports_without_its_paywall_chrome(seed_page: str) -> None:
    article = parse_text(seed_page)

    assert article.headline == "US and China sit down for a belated talk on human rights"
    assert article.dek.startswith("The question is whether the US-China talks")
    assert article.image is not None
    assert article.image.credit == "Andy Wong/AP"
    assert article.image.caption.startswith("A Chinese man walks past a poster")
    assert article.slug == "us-and-china-sit-down-for-a-belated-talk-on-human-rights"
    assert article.access is AccessLevel.METERED
    subheads = [b.text for b in article.body if b.kind == "subhead"]
    assert subheads == ["Bossiness not productive", "Lately, a tougher approach"]
    assert article.body[0].kind == "paragraph"
    assert article.body[0].text.startswith("The US and China enter a two-day")
    assert article.body[-1].text.startswith("“If it simply allows Chinese officials")
    everything = " ".join(article.text_blocks()).casefold()
    for words in ("stories this month", "subscribe to continue", "$11/month", "get unlimited"):
        assert words not in everything
    assert "andy wong/ap" not in everything


def test_layout_gives_headline_dek_byline_image_and_blocks() -> None:
    article = parse_text(PAGE)

    assert article.headline == "Harbor committee backs a fee holiday"
    assert article.dek == "Boat owners who haul out early would pay nothing for a month."
    assert article.byline == "By Example Reporter"
    assert article.image == Image(
        "/static/img/harbor.svg",
        "Illustration: Harbor Ledger",
        "Boats wait on their cradles at the city yard.",
    )
    assert article.body == (
        Block("paragraph", "The committee voted 5-0 on Tuesday. The vote was quick."),
        Block("subhead", "Why now"),
        Block("paragraph", "“It is simple,” the harbor master said."),
        Block(
            "quote",
            "“Every boat we haul in November is one we are not chasing in a snowstorm.”",
            "Harbor Master Joan Estey",
        ),
        Block("paragraph", "The council takes it up on Dec. 8."),
    )


def test_a_page_without_a_photo_starts_its_body_after_the_dek() -> None:
    article = parse_text("Headline\n\nThe dek.\n\nFirst paragraph of the body.\n\nSecond one.\n")
    assert article.image is None
    assert [b.text for b in article.body] == ["First paragraph of the body.", "Second one."]


def test_front_matter_sets_what_the_layout_cannot() -> None:
    text = (
        "---\nsection: Obituaries\naccess: free\npublished: 2026-11-08\n"
        "image: {url: /static/img/cove.svg}\n---\n" + PAGE
    )
    article = parse_text(text)
    assert article.section == "Obituaries"
    assert article.access is AccessLevel.FREE
    assert article.image is not None
    assert article.image.url == "/static/img/cove.svg"
    assert article.image.credit == "Illustration: Harbor Ledger"


def test_chrome_is_only_dropped_at_the_end() -> None:
    text = "Headline\n\nDek.\n\nSubscribe to continue.\n\nThe real last paragraph.\n"
    article = parse_text(text)
    assert [b.text for b in article.body] == ["Subscribe to continue.", "The real last paragraph."]


@pytest.mark.parametrize("line", CHROME)
def test_paywall_chrome_is_recognised(line: str) -> None:
    assert is_chrome(line)


@pytest.mark.parametrize(
    "line",
    [
        "The council voted to subscribe to the regional water authority.",
        "Unlimited ambition, limited budget",
        "Of the 40 stories the committee heard, most were about rent.",
    ],
)
def test_article_sentences_are_not_chrome(line: str) -> None:
    assert not is_chrome(line)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Bossiness not productive", True),
        ("Lately, a tougher approach", True),
        ("An example?", False),
        ("The US side of the table will be led by Michael Posner.", False),
        ("“That was heartening,” Ms. Richardson says", False),
        ("1978", False),
        ("A line that is far too long to be a subhead because it keeps on going and going", False),
    ],
)
def test_subheads_are_short_unpunctuated_lines(line: str, expected: bool) -> None:
    assert is_subhead(line) is expected


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 1, "missing headline"),
        ("\n\n   \n", 1, "missing headline"),
        ("Only a headline\n", 2, "empty body"),
        ("Headline\n\nDek.\n\nShort heading\n", 5, "empty body"),
        ("Headline\n\nDek.\n\n\nGet unlimited Monitor journalism.\n", 4, "empty body"),
        ("---\naccess: paid\n---\nHeadline\n\nDek.\n\nBody.\n", 2, "unknown access value"),
        ("Headline\n\nDek.\n\nftp://x/y.jpg\nCredit\nCaption.\n\nBody.\n", 5, "image URL"),
    ],
)
def test_bad_pages_are_reported_with_their_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ImportProblem) as caught:
        parse_text(text)
    assert words in caught.value.message
    assert caught.value.line == line
