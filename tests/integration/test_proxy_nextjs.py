"""Proxy mode in front of a real Next.js site (pages router and App Router): issue 11.

The site (:mod:`tests.fixtures.nextjs`) carries each story's body as Portable
Text, runs of one to four words with marks and links, in ``__NEXT_DATA__``, in
``/_next/data/<buildId>/...json`` and in React Server Components payloads.
With a hard paywall no response to an anonymous reader may carry three gated
words in a row (:func:`tests.fixtures.stories.gated_runs`); a metered reader's
data route is the same read as its page.  Controls show that Next.js itself
answers each request with the full text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.nextjs import ARTICLE_PATTERN, NextSite
from tests.fixtures.stories import Story, assert_no_gated_text, full_text_in, stories
from tests.fixtures.upstream.harness import LiveServer, live_proxy, through

PAGES_ROUTER = [s for s in stories() if s.route in ("/articles/", "/news/")]
APP_ROUTER = [s for s in stories() if s.route == "/reports/"]


def next_proxy(
    folder: Path, nextjs: NextSite, backends: dict[str, Any], **policy: Any
) -> Iterator[LiveServer]:
    """meterwall in front of the Next.js site, its article pages named by pattern."""
    proxy = {"article_patterns": [ARTICLE_PATTERN]}
    with live_proxy(folder, nextjs.url, proxy=proxy, policy=policy, **backends) as server:
        yield server


@pytest.fixture(scope="module")
def gated(nextjs: NextSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The proxy with a hard paywall: every anonymous reader is shown the teaser."""
    yield from next_proxy(tmp_path_factory.mktemp("gated"), nextjs, {}, anonymous_limit=0)


def assert_gated(server: LiveServer, target: str, headers: dict[str, str] | None = None) -> None:
    """Every answer of the proxy to ``target`` (redirects followed) is free of gated text."""
    for answer in through(server.url, target, headers=headers):
        assert answer.status_code < 500, f"{target}: {answer.status_code}"
        assert_no_gated_text(answer, f"GET {target} {headers or ''}")


def direct(nextjs: NextSite, target: str, headers: dict[str, str] | None = None) -> bytes:
    """What Next.js itself answers (the control of a row)."""
    with httpx.Client(base_url=nextjs.url, timeout=60, follow_redirects=True) as client:
        return client.get(target, headers=headers).content


def test_a_metered_reader_gets_every_story(
    nextjs: NextSite, tmp_path: Path, app_backends: dict[str, Any]
) -> None:
    """The control for every row below: the proxy and each page do carry the full text."""
    for server in next_proxy(tmp_path, nextjs, app_backends, anonymous_limit=10):
        with httpx.Client(base_url=server.url, timeout=60) as reader:
            for story in stories():
                page = reader.get(NextSite.path(story))
                assert page.status_code == 200
                assert full_text_in(page.content), NextSite.path(story)
            assert len(_counted(reader)) == len(stories())


@pytest.mark.parametrize("story", stories(), ids=lambda s: s.slug)
def test_article_pages_and_their_hydration_state_are_gated(
    gated: LiveServer, nextjs: NextSite, story: Story
) -> None:
    assert full_text_in(direct(nextjs, NextSite.path(story)))
    page = httpx.get(gated.url + NextSite.path(story), timeout=60)
    assert page.status_code == 200
    assert story.headline in page.text
    assert_no_gated_text(page, NextSite.path(story))


DATA_ROUTE_VARIANTS = {
    "plain": ("{route}", {}),
    "as-the-router-asks": ("{route}?slug={slug}", {"x-nextjs-data": "1"}),
    "prefetch": ("{route}", {"purpose": "prefetch", "x-nextjs-data": "1"}),
}


@pytest.mark.parametrize("variant", list(DATA_ROUTE_VARIANTS))
@pytest.mark.parametrize("story", PAGES_ROUTER, ids=lambda s: s.slug)
def test_data_routes_are_gated(
    gated: LiveServer, nextjs: NextSite, story: Story, variant: str
) -> None:
    template, headers = DATA_ROUTE_VARIANTS[variant]
    target = template.format(route=nextjs.data_route(story), slug=story.slug)
    assert full_text_in(direct(nextjs, target, headers)), "control: Next.js gave no body"
    assert_gated(gated, target, headers)


RSC_VARIANTS = {
    "header-and-query": ("?_rsc", {"RSC": "1"}),
    "header-only": ("", {"RSC": "1"}),
    "prefetch": ("?_rsc", {"RSC": "1", "Next-Router-Prefetch": "1"}),
    "lowercase-header": ("?_rsc", {"rsc": "1"}),
}


@pytest.mark.parametrize("variant", list(RSC_VARIANTS))
@pytest.mark.parametrize("story", APP_ROUTER, ids=lambda s: s.slug)
def test_rsc_payloads_are_gated(
    gated: LiveServer, nextjs: NextSite, story: Story, variant: str
) -> None:
    query, headers = RSC_VARIANTS[variant]
    target = NextSite.path(story) + query
    if variant != "prefetch":
        assert full_text_in(direct(nextjs, target, headers)), "control: Next.js gave no body"
    assert_gated(gated, target, headers)


OTHER_REPRESENTATIONS = {
    "accept-json": (lambda path: path, {"Accept": "application/json"}),
    "xhr": (lambda path: path, {"X-Requested-With": "XMLHttpRequest"}),
    "format-json": (lambda path: path + "?format=json", {}),
    "trailing-slash": (lambda path: path + "/", {}),
    "dot-segment": (lambda path: path.replace("/", "/./", 1), {}),
    "upper-case": (lambda path: path.upper(), {}),
}


@pytest.mark.parametrize("variant", list(OTHER_REPRESENTATIONS))
@pytest.mark.parametrize("story", stories(), ids=lambda s: s.slug)
def test_other_representations_are_gated(gated: LiveServer, story: Story, variant: str) -> None:
    spell, headers = OTHER_REPRESENTATIONS[variant]
    assert_gated(gated, spell(NextSite.path(story)), headers)


def _counted(reader: httpx.Client) -> list[str]:
    """The stories the meter has counted for this reader (from its data export)."""
    meter = reader.get("/account/meter/export.json").json()["meter"]
    return [read["article_id"] for read in meter]


def test_a_data_route_is_the_same_read_as_its_page(
    nextjs: NextSite, tmp_path: Path, app_backends: dict[str, Any]
) -> None:
    """Limit 2: a story's data route and page cost one read; the third story is gated."""
    first, second, third = PAGES_ROUTER[:3]
    for server in next_proxy(tmp_path, nextjs, app_backends, anonymous_limit=2):
        with httpx.Client(base_url=server.url, timeout=60) as reader:
            reader.get("/")
            data = reader.get(nextjs.data_route(first), headers={"x-nextjs-data": "1"})
            assert data.status_code == 200 and full_text_in(data.content)
            assert len(_counted(reader)) == 1, "the data route was not counted as a read"
            page = reader.get(NextSite.path(first))
            assert full_text_in(page.content)
            assert len(_counted(reader)) == 1, "the page of a story read by its data route"
            assert full_text_in(reader.get(NextSite.path(second)).content)
            assert len(_counted(reader)) == 2
            third_data = reader.get(nextjs.data_route(third), headers={"x-nextjs-data": "1"})
            assert_no_gated_text(third_data, "the third story's data route")
            assert_no_gated_text(reader.get(NextSite.path(third)), "the third story's page")
            assert len(_counted(reader)) == 2
