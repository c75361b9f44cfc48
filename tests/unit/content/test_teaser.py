"""Cutting the body to the lede, and JSON-LD built from what the reader may see."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from meterwall.access.model import AccessLevel
from meterwall.content.jsonld import PAYWALLED_SELECTOR, news_article, script_json
from meterwall.content.model import Block
from meterwall.content.teaser import lede
from tests.factories import make_article


def test_default_lede_is_the_first_paragraph() -> None:
    article = make_article(1)
    assert lede(article) == (article.body[0],)


def test_word_count_lede_cuts_at_a_word_boundary() -> None:
    article = make_article(1)
    cut = lede(article, words=5)
    assert len(cut) == 1
    assert cut[0].text.split()[:5] == article.body[0].text.split()[:5]
    assert len(cut[0].text.split()) == 6  # five words and the ellipsis


def test_word_count_may_run_into_the_second_paragraph() -> None:
    article = make_article(1)
    first_words = len(article.body[0].text.split())
    cut = lede(article, words=first_words + 2)
    assert cut[0] == article.body[0]
    assert len(cut[1].text.split()) == 3


@given(st.integers(0, 400))
def test_lede_never_holds_more_words_than_asked(words: int) -> None:
    article = make_article(2)
    cut = lede(article, words=words)
    if words:
        total = sum(len(b.text.replace(" …", "").split()) for b in cut)
        assert total <= words
    assert all(b.kind == "paragraph" for b in cut)


def test_article_without_paragraphs_has_no_lede() -> None:
    article = make_article(1)
    bare = type(article)(id="x", slug="x", headline="h", body=(Block("subhead", "s"),))
    assert lede(bare) == ()


def test_gated_jsonld_has_no_body_and_names_the_paywalled_part() -> None:
    article = make_article(3)
    data = news_article(article, lede(article), False, "https://x/a", "Pub")
    assert "articleBody" not in data
    assert data["isAccessibleForFree"] is False
    assert data["hasPart"]["cssSelector"] == PAYWALLED_SELECTOR
    assert "SECRET" not in json.dumps(data)


def test_full_jsonld_keeps_paywall_markup_and_the_body() -> None:
    article = make_article(3)
    data = news_article(article, article.body, True, "https://x/a", "Pub")
    assert "SECRET-3-1" in data["articleBody"]
    assert data["isAccessibleForFree"] is False


def test_free_article_is_marked_free() -> None:
    article = make_article(4, access=AccessLevel.FREE)
    data = news_article(article, article.body, True, "https://x/a", "Pub")
    assert data["isAccessibleForFree"] is True
    assert "hasPart" not in data


def test_script_json_cannot_close_the_script_element() -> None:
    text = script_json({"headline": "</script><script>alert(1)</script>"})
    assert "</script>" not in text
    assert json.loads(text)["headline"].startswith("</script>")
