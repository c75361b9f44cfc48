"""The upstream's origin, made public in every spelling (issue 11 row 8)."""

from __future__ import annotations

import httpx
import pytest

from meterwall.gateway.origin import Origin
from meterwall.gateway.upstream import response_headers

ORIGIN = Origin("http://127.0.0.1:8080", "https://news.example")


@pytest.mark.parametrize(
    ("sent", "public"),
    [
        ("http://127.0.0.1:8080/a/", "https://news.example/a/"),
        ("http://127.0.0.1:8080", "https://news.example"),
        ("HTTP://127.0.0.1:8080/a", "https://news.example/a"),
        ("https://127.0.0.1:8080/a", "https://news.example/a"),
        ("http://www.127.0.0.1:8080?x", "https://news.example?x"),
        ('{"url":"http:\\/\\/127.0.0.1:8080\\/a"}', '{"url":"https:\\/\\/news.example\\/a"}'),
        ("u=http%3A%2F%2F127.0.0.1%3A8080%2Fa", "u=https%3A%2F%2Fnews.example%2Fa"),
        ("u=http%3a%2f%2f127.0.0.1%3a8080", "u=https%3A%2F%2Fnews.example"),
        ("http://127.0.0.1:80801/a", "http://127.0.0.1:80801/a"),
        ("http://127.0.0.1:8080.example/a", "http://127.0.0.1:8080.example/a"),
        ("http://127.0.0.1/a", "http://127.0.0.1/a"),
    ],
)
def test_every_spelling_is_made_public(sent: str, public: str) -> None:
    assert ORIGIN.text(sent) == public
    assert ORIGIN.body(sent.encode()) == public.encode()


def test_a_host_without_a_port_keeps_other_ports() -> None:
    origin = Origin("http://cms.internal", "https://news.example")
    assert origin.text("http://cms.internal/a http://cms.internal:81/b") == (
        "https://news.example/a http://cms.internal:81/b"
    )


def test_bodies_without_the_host_are_returned_as_they_are() -> None:
    body = b"<p>nothing here</p>" * 100
    assert ORIGIN.body(body) is body
    assert Origin("https://news.example", "https://news.example").text(
        "https://news.example/a"
    ) == ("https://news.example/a")


def test_link_and_location_headers_are_made_public() -> None:
    upstream = httpx.Headers(
        [
            ("link", '<http://127.0.0.1:8080/wp-json/wp/v2/posts/7>; rel="https://api.w.org/"'),
            ("link", "<http://127.0.0.1:8080/?p=7>; rel=shortlink"),
            ("content-location", "http://127.0.0.1:8080/a"),
            ("location", "http://127.0.0.1:8080/b"),
        ]
    )
    headers = response_headers(upstream, "http://127.0.0.1:8080", "https://news.example")
    assert headers == [
        ("link", '<https://news.example/wp-json/wp/v2/posts/7>; rel="https://api.w.org/"'),
        ("link", "<https://news.example/?p=7>; rel=shortlink"),
        ("content-location", "https://news.example/a"),
        ("location", "https://news.example/b"),
    ]
