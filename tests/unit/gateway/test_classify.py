"""The classify phase: what a response is, and whether it may carry article text."""

from __future__ import annotations

import json

import pytest

from meterwall.gateway.classify import (
    asks_for_jsonp,
    carries_prose,
    is_site_metadata,
    kind_of,
    refine,
)
from tests.fixtures.upstream.site import ARTICLES, CART, blocks, flight, plain_body


@pytest.mark.parametrize(
    ("media", "kind"),
    [
        ("image/png", "pass"),
        ("font/woff2", "pass"),
        ("text/css", "pass"),
        ("application/javascript", "pass"),
        ("text/javascript", "pass"),
        ("application/wasm", "pass"),
        ("video/mp4", "pass"),
        ("text/html", "page"),
        ("", "page"),
        ("application/rss+xml", "feed"),
        ("application/feed+json", "feed"),
        ("application/json", "json"),
        ("application/vnd.api+json", "json"),
        ("application/ld+json", "json"),
        ("text/x-component", "rsc"),
        ("text/plain", "text"),
        ("text/markdown", "other"),
        ("text/csv", "other"),
        ("image/svg+xml", "pass"),
    ],
)
def test_a_response_is_classified_by_its_media_type(media: str, kind: str) -> None:
    assert kind_of("GET", 200, media) == kind


@pytest.mark.parametrize(("method", "status"), [("HEAD", 200), ("GET", 204), ("GET", 304)])
def test_answers_without_a_body_pass(method: str, status: int) -> None:
    assert kind_of(method, status, "application/json") == "pass"


def test_a_json_document_with_a_jsonfeed_version_is_a_feed() -> None:
    feed = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": []}).encode()
    assert refine("json", feed) == "feed"
    assert refine("json", b'{"version": "2"}') == "json"


def test_html_without_a_document_is_a_fragment() -> None:
    assert refine("page", b'<div class="entry-content"><p>Text.</p></div>') == "fragment"
    assert refine("page", b"<!DOCTYPE html><html><body><p>x</p></body></html>") == "page"
    assert refine("page", b"<html lang=en><p>x</p>") == "page"


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("json", json.dumps([{"content": {"rendered": blocks(ARTICLES[1])}}])),
        ("json", json.dumps({"text": plain_body(ARTICLES[1])})),
        ("text", plain_body(ARTICLES[1])),
        ("fragment", blocks(ARTICLES[1])),
        ("rsc", flight(3)),
    ],
    ids=["wp-rest", "plain-json", "text", "fragment", "rsc"],
)
def test_article_text_is_prose_in_every_shape(kind: str, body: str) -> None:
    assert carries_prose(kind, body)


def test_text_split_into_short_runs_is_still_prose() -> None:
    spans = [{"_type": "span", "text": "The harbor master "}, {"marks": ["em"], "text": "opened"}]
    spans += [{"text": " the gates at dawn, and the first boats slid out to sea. "}]
    assert carries_prose("json", json.dumps({"body": spans * 3}))


@pytest.mark.parametrize(
    "data",
    [
        {"status": "mail_sent", "message": "Thank you for your message. It has been sent."},
        CART,
        {"posts": [{"title": a.headline, "url": "/x"} for a in ARTICLES.values()]},
        {
            "pageProps": {
                "cards": [{"headline": a.headline, "dek": a.dek} for a in ARTICLES.values()]
            }
        },
    ],
    ids=["contact-form", "cart", "title-search", "front-page-cards"],
)
def test_site_features_without_running_prose_are_not_prose(data: object) -> None:
    assert not carries_prose("json", json.dumps(data))


def test_a_wrapped_plain_text_paragraph_is_one_run_of_prose() -> None:
    wrapped = (
        "The council met on Tuesday\nand voted to close the harbor\ngates for the winter.\n"
        "Fishers said the decision came\ntoo late for the season, and\nasked for a delay.\n"
    )
    assert carries_prose("text", wrapped * 2)


@pytest.mark.parametrize(
    ("path", "metadata"),
    [
        ("/robots.txt", True),
        ("/ads.txt", True),
        ("/.well-known/security.txt", True),
        ("/story.txt", False),
        ("/robots.txt/x", False),
    ],
)
def test_files_a_site_publishes_for_machines_are_known_by_path(path: str, metadata: bool) -> None:
    assert is_site_metadata(path) is metadata


@pytest.mark.parametrize(
    ("target", "jsonp"),
    [
        ("/wp-json/wp/v2/posts?_jsonp=read", True),
        ("/api?callback=jQuery123", True),
        ("/api?a=1&jsonp=f", True),
        ("/assets/app.js", False),
        ("/assets/app.js?v=3", False),
        ("/api?callbacks=1", False),
    ],
)
def test_a_script_answer_to_a_jsonp_request_is_data_not_an_asset(target: str, jsonp: bool) -> None:
    assert asks_for_jsonp(target) is jsonp
    kind = kind_of("GET", 200, "application/javascript", asks_for_jsonp(target))
    assert kind == ("other" if jsonp else "pass")
