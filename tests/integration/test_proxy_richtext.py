"""ATTACKS.md rows 27 and 28 against proxy mode: rich text split into runs, nested feed fields.

A hard paywall (limit 0) in front of the fake upstream's headless-CMS story:
its body is in the HTML, in ``__NEXT_DATA__`` as Portable Text runs of one
to four words, and in ``__APOLLO_STATE__`` as Contentful rich text; its
feeds carry the full text in ``media:group/media:description`` and JSON
Feed's ``content_html``/``content_text``.  No run of three consecutive
gated words may reach the reader, in any channel or encoding.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser

from tests.factories import gated_fragments
from tests.fixtures.upstream.harness import leaked, proxied, reader
from tests.fixtures.upstream.site import RICH, RICH_BUILD, RICH_PATH
from tests.leaks import recoverable_runs

SHOWN = [RICH.body[0].text, RICH.headline, RICH.dek]


@pytest.fixture
async def gated(app_factory: Callable[..., Any]) -> Any:
    """Proxy mode with a hard paywall."""
    return await proxied(app_factory, policy={"anonymous_limit": 0})


async def test_row27_rich_text_runs_in_hydration_state_are_cut(gated: Any) -> None:
    async with reader(gated) as browser:
        response = await browser.get(RICH_PATH)
    assert response.status_code == 200
    runs = recoverable_runs(response.content, gated_fragments(RICH), SHOWN)
    assert not runs, f"gated runs a script can rebuild: {runs[:5]}"
    assert not leaked(response.content, RICH)
    tree = LexborHTMLParser(response.text)
    assert "mw-gate" in response.text
    assert RICH.body[0].text in tree.body.text() if tree.body else False
    # The page around the article still works: its own scripts and hydration state stay.
    assert "SITE-SCRIPT-MARK Local news for the harbor towns" in response.text
    next_data = tree.css_first("#__NEXT_DATA__")
    assert next_data is not None
    state = json.loads(next_data.text())
    assert state["buildId"] == RICH_BUILD
    lede_runs = state["props"]["pageProps"]["post"]["body"][0]["children"]
    assert "".join(span["text"] for span in lede_runs) == RICH.body[0].text


async def test_row28_media_rss_descriptions_below_an_item_are_cut(gated: Any) -> None:
    async with reader(gated) as browser:
        response = await browser.get("/media.xml")
    assert response.status_code == 200
    assert not recoverable_runs(response.content, gated_fragments(RICH), SHOWN)
    assert not leaked(response.content, RICH)
    assert RICH.headline in response.text and "media:content" in response.text


async def test_row28_json_feed_items_are_cut_to_the_lede(gated: Any) -> None:
    async with reader(gated) as browser:
        response = await browser.get("/rich/feed.json")
    assert response.status_code == 200
    assert not recoverable_runs(response.content, gated_fragments(RICH), SHOWN)
    item = response.json()["items"][0]
    assert item["title"] == RICH.headline
    assert RICH.body[0].text in item["content_text"]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (f"/_next/data/{RICH_BUILD}{RICH_PATH}.json", {}),
        (RICH_PATH, {"RSC": "1"}),
        (RICH_PATH + "?_rsc=1a2b", {}),
        (RICH_PATH, {"Accept": "application/json"}),
    ],
    ids=["data route", "RSC header", "RSC query", "Accept JSON"],
)
async def test_row27_rich_text_runs_in_other_representations_are_refused_or_cut(
    gated: Any, path: str, headers: dict[str, str]
) -> None:
    async with reader(gated) as browser:
        response = await browser.get(path, headers=headers)
    runs = recoverable_runs(response.content, gated_fragments(RICH), SHOWN)
    assert not runs, f"{path}: gated runs a script can rebuild: {runs[:5]}"
    assert not leaked(response.content, RICH)
