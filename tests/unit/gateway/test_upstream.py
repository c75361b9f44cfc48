"""Headers across the proxy, and bounded decompression."""

from __future__ import annotations

import gzip
import zlib

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _plain_request_headers(
    incoming: list[tuple[str, str]], forwarding: Forwarding, unconditional: bool
) -> list[tuple[str, str]]:
    """The forwarding rules written out plainly, for checking the faster one."""
    named = {
        token.strip().lower()
        for name, value in incoming
        if name.lower() == "connection"
        for token in value.split(",")
        if token.strip()
    }
    drop = {
        *("connection", "keep-alive", "proxy-authenticate", "proxy-authorization"),
        *("proxy-connection", "te", "trailer", "trailers", "transfer-encoding", "upgrade"),
        *("content-length", "host", "x-forwarded-for", "x-forwarded-host"),
        *("x-forwarded-proto", "forwarded", "x-real-ip"),
        *named,
    }
    if unconditional:
        drop |= {"range", "if-range", "if-none-match", "if-modified-since", "if-match"}
    out = []
    for name, value in incoming:
        lower = name.lower()
        if lower in drop:
            continue
        if lower == "accept-encoding":
            offered = {part.split(";")[0].strip().lower() for part in value.split(",")}
            value = ", ".join(e for e in ("gzip", "deflate") if e in offered) or "identity"
        elif lower == "cookie":
            value = "; ".join(
                part.strip()
                for part in value.split(";")
                if part.strip() and part.split("=", 1)[0].strip() != forwarding.reader_cookie
            )
            if not value:
                continue
        out.append((lower, value))
    if not any(name == "accept-encoding" for name, _ in out):
        out.append(("accept-encoding", "identity"))
    host = forwarding.public_host if forwarding.preserve_host else forwarding.upstream_host
    out += [("host", host), ("x-forwarded-for", forwarding.client_ip)]
    return [*out, ("x-forwarded-host", "news.example"), ("x-forwarded-proto", "https")]


_NAMES = st.sampled_from(
    [
        "Accept-Encoding",
        "accept-encoding",
        "Cookie",
        "cookie",
        "Connection",
        "connection",
        "Keep-Alive",
        "Host",
        "X-Forwarded-For",
        "Range",
        "If-None-Match",
        "Content-Length",
        "User-Agent",
        "X-Private",
        "Accept",
    ]
)
_VALUES = st.sampled_from(
    [
        "",
        "gzip",
        "br, zstd, GZIP;q=0.8, deflate",
        "identity",
        "keep-alive",
        "Keep-Alive, X-Private",
        "accept-encoding, cookie",
        " , user-agent",
        "mw_reader=abc.sig",
        "a=1;mw_reader=x; b=2 ;; c",
        " mw_reader =x; _ga=1",
        "mw_reader",
        "bytes=0-10",
        "\u00e9t\u00e9",
    ]
)


@settings(max_examples=500, deadline=None)
@given(
    incoming=st.lists(st.tuples(_NAMES, _VALUES), max_size=10),
    unconditional=st.booleans(),
    long_encoding=st.booleans(),
)
def test_request_headers_follow_the_forwarding_rules(
    incoming: list[tuple[str, str]], unconditional: bool, long_encoding: bool
) -> None:
    if long_encoding:
        incoming = [*incoming, ("Accept-Encoding", "x" * 300 + ", deflate")]
    expected = _plain_request_headers(incoming, FORWARDING, unconditional)
    assert request_headers(incoming, FORWARDING, unconditional=unconditional) == expected
