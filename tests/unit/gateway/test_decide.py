"""The decide phase: the page a representation stands for, and who may have everything."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from meterwall.access.model import Entitlement, MeterState, Policy, ReaderState
from meterwall.gateway.decide import (
    entitled_to_everything,
    is_navigation,
    is_prefetch,
    page_of,
    represented,
)

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("target", "page"),
    [
        ("/_next/data/abc123/news/2026/11/15/arc-story.json", "/news/2026/11/15/arc-story"),
        ("/_next/data/abc123/news/story.json?slug=story", "/news/story"),
        ("/_next/data/abc123/index.json", "/"),
        ("/2026/11/x/?_rsc=1a2b", "/2026/11/x/"),
        ("/2026/11/x/?format=json", "/2026/11/x/"),
        ("/2026/11/x/?format=txt&utm_source=a", "/2026/11/x/?utm_source=a"),
        ("/2026/11/x/?output=amp", "/2026/11/x/"),
        ("/2026/11/x/?outputType=print", "/2026/11/x/"),
        ("/2026/11/x/?print=1", "/2026/11/x/"),
        ("/2026/11/x/print/", "/2026/11/x/"),
        ("/cgi/story.php?id=9&print=1", "/cgi/story.php?id=9"),
        ("/2026/11/x/", "/2026/11/x/"),
        ("/wp-json/wp/v2/posts", "/wp-json/wp/v2/posts"),
    ],
)
def test_a_representation_maps_to_the_page_it_represents(target: str, page: str) -> None:
    assert represented(target) == page


@pytest.mark.parametrize(
    ("target", "headers", "navigation"),
    [
        ("/_next/data/b/x.json", {}, True),
        ("/x/", {"rsc": "1"}, True),
        ("/x/?_rsc=abc", {}, True),
        ("/x/?format=json", {}, False),
        ("/x/", {"accept": "application/json"}, False),
    ],
)
def test_client_side_navigations_are_recognised(
    target: str, headers: dict[str, str], navigation: bool
) -> None:
    assert is_navigation(target, headers) is navigation


@pytest.mark.parametrize(
    ("reader", "everything"),
    [
        (ReaderState("r", entitlements=frozenset({Entitlement.SUBSCRIPTION})), True),
        (ReaderState("r", entitlements=frozenset({Entitlement.GROUP_LICENCE})), True),
        (ReaderState("r", entitlements=frozenset({Entitlement.COMPLIMENTARY})), True),
        (ReaderState("r", verified_crawler=True), True),
        (ReaderState("r"), False),
        (ReaderState("r", meter=MeterState(used=0, counted=True)), False),
        (ReaderState("r", gift_article_id="https://news.example/x"), False),
    ],
    ids=["subscriber", "group", "complimentary", "crawler", "anonymous", "metered", "gift"],
)
def test_only_readers_entitled_to_every_article_get_everything(
    reader: ReaderState, everything: bool
) -> None:
    assert entitled_to_everything(reader, Policy(anonymous_limit=5), NOW) is everything


@pytest.mark.parametrize(
    ("headers", "prefetch"),
    [
        ({"next-router-prefetch": "1"}, True),
        ({"x-middleware-prefetch": "1"}, True),
        ({"purpose": "prefetch"}, True),
        ({"sec-purpose": "prefetch;prerender"}, True),
        ({"rsc": "1"}, False),
        ({}, False),
    ],
)
def test_prefetches_are_recognised(headers: dict[str, str], prefetch: bool) -> None:
    assert is_prefetch(headers) is prefetch


@pytest.mark.parametrize(
    ("target", "headers", "page"),
    [
        ("/wp-json/wp/v2/posts", {}, None),
        ("/wp-json/wp/v2/posts", {"accept": "*/*"}, None),
        ("/wp-json/wp/v2/posts", {"accept": "text/html,application/json"}, None),
        ("/x/", {"accept": "application/json"}, "/x/"),
        ("/x/", {"accept": "application/json, text/plain, */*"}, "/x/"),
        ("/x/", {"rsc": "1"}, "/x/"),
        ("/x/", {"x-requested-with": "XMLHttpRequest"}, "/x/"),
        ("/x/?format=json", {}, "/x/"),
    ],
)
def test_only_a_request_that_may_stand_for_a_page_is_looked_up_as_one(
    target: str, headers: dict[str, str], page: str | None
) -> None:
    assert page_of(target, headers) == page
