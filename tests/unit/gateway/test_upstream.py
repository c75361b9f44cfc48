"""Headers across the proxy, and bounded decompression."""

from __future__ import annotations

import gzip
import zlib

import httpx
import pytest

from meterwall.gateway.compression import (
    TooLarge,
    UnknownEncoding,
    accepts_gzip,
    decompress,
    gzip_bytes,
)
from meterwall.gateway.upstream import (
    Forwarding,
    public_location,
    request_headers,
    response_headers,
)

FORWARDING = Forwarding(
    client_ip="203.0.113.5",
    public_host="news.example",
    public_scheme="https",
    upstream_host="10.0.0.9:8080",
    preserve_host=False,
    reader_cookie="mw_reader",
)


def test_request_headers_drop_hop_by_hop_and_client_forwarding() -> None:
    sent = dict(
        request_headers(
            [
                ("Host", "news.example"),
                ("Connection", "keep-alive, X-Private"),
                ("X-Private", "1"),
                ("Keep-Alive", "300"),
                ("Transfer-Encoding", "chunked"),
                ("X-Forwarded-For", "66.249.66.1"),
                ("X-Real-IP", "66.249.66.1"),
                ("Cookie", "a=1; mw_reader=xyz.sig; b=2"),
                ("Accept-Encoding", "br, zstd, gzip;q=0.8"),
                ("Range", "bytes=0-10"),
                ("User-Agent", "UA"),
            ],
            FORWARDING,
        )
    )
    assert sent == {
        "cookie": "a=1; b=2",
        "accept-encoding": "gzip",
        "range": "bytes=0-10",
        "user-agent": "UA",
        "host": "10.0.0.9:8080",
        "x-forwarded-for": "203.0.113.5",
        "x-forwarded-host": "news.example",
        "x-forwarded-proto": "https",
    }


def test_unconditional_refetch_drops_range_and_validators() -> None:
    sent = dict(
        request_headers(
            [("Range", "bytes=0-10"), ("If-None-Match", '"x"'), ("Accept-Encoding", "br")],
            FORWARDING,
            unconditional=True,
        )
    )
    assert "range" not in sent and "if-none-match" not in sent
    assert sent["accept-encoding"] == "identity"


def test_preserve_host_sends_the_public_host() -> None:
    forwarding = Forwarding("1.2.3.4", "news.example", "https", "10.0.0.9", True, "mw_reader")
    assert dict(request_headers([], forwarding))["host"] == "news.example"


def test_response_headers_rewrite_location_and_cookies() -> None:
    upstream = httpx.Headers(
        [
            ("Location", "http://10.0.0.9:8080/a?b=1"),
            ("Set-Cookie", "s=1; Domain=10.0.0.9; Path=/; HttpOnly"),
            ("Set-Cookie", "t=2; Domain=.example.com; Path=/"),
            ("Connection", "close"),
            ("Transfer-Encoding", "chunked"),
            ("Cache-Control", "max-age=60"),
        ]
    )
    out = response_headers(upstream, "http://10.0.0.9:8080", "https://news.example")
    assert ("location", "https://news.example/a?b=1") in out
    assert ("set-cookie", "s=1; Path=/; HttpOnly") in out
    assert ("set-cookie", "t=2; Domain=.example.com; Path=/") in out
    assert all(name not in ("connection", "transfer-encoding") for name, _ in out)
    assert ("cache-control", "max-age=60") in out


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("http://10.0.0.9:8080", "https://news.example"),
        ("//10.0.0.9:8080/x", "https://news.example/x"),
        ("/relative", "/relative"),
        ("https://elsewhere.example/x", "https://elsewhere.example/x"),
        ("http://10.0.0.9:80801/x", "http://10.0.0.9:80801/x"),
    ],
)
def test_public_location(location: str, expected: str) -> None:
    assert public_location(location, "http://10.0.0.9:8080", "https://news.example") == expected


def test_decompress_every_supported_encoding() -> None:
    data = b"<p>hello</p>" * 100
    deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = deflate.compress(data) + deflate.flush()
    assert decompress(gzip.compress(data), "gzip", 10_000) == data
    assert decompress(gzip.compress(data) + gzip.compress(data), "gzip", 10_000) == data * 2
    assert decompress(zlib.compress(data), "deflate", 10_000) == data
    assert decompress(raw_deflate, "deflate", 10_000) == data
    assert decompress(data, "", 10_000) == data


def test_decompression_bombs_and_unknown_encodings_are_refused() -> None:
    bomb = gzip.compress(b"\0" * 5_000_000)
    with pytest.raises(TooLarge):
        decompress(bomb, "gzip", 100_000)
    with pytest.raises(UnknownEncoding):
        decompress(b"x", "br", 100)


@pytest.mark.parametrize(
    ("header", "ok"),
    [("gzip, deflate, br", True), ("br", False), ("gzip;q=0", False), ("*", True), ("", False)],
)
def test_accepts_gzip(header: str, ok: bool) -> None:
    assert accepts_gzip(header) is ok


def test_gzip_round_trip() -> None:
    assert gzip.decompress(gzip_bytes(b"abc")) == b"abc"
