"""The path and query the proxy forwards: exactly those of Starlette's ``request.url``."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from meterwall.gateway.proxy import request_target


def _scope(
    path: str,
    query: bytes = b"",
    host: bytes | None = b"news.example",
    server: tuple[str, int] | None = ("127.0.0.1", 8000),
    scheme: str = "http",
) -> dict[str, Any]:
    headers = [(b"accept", b"*/*")] + ([(b"host", host)] if host is not None else [])
    return {
        "type": "http",
        "method": "GET",
        "scheme": scheme,
        "path": path,
        "query_string": query,
        "headers": headers,
        "server": server,
        "client": ("198.51.100.7", 5000),
    }


def _by_url(scope: dict[str, Any]) -> str:
    """The target as ``request.url`` spells it: what the proxy must keep forwarding."""
    url = Request(scope).url
    return url.path + (f"?{url.query}" if url.query else "")


def _either(scope: dict[str, Any]) -> tuple[str, str] | tuple[type, type]:
    try:
        expected: str | type = _by_url(scope)
    except Exception as exc:  # the URL cannot be built: the target must fail alike
        expected = type(exc)
    try:
        found: str | type = request_target(Request(scope))
    except Exception as exc:
        found = type(exc)
    return expected, found  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("path", "query", "forwarded"),
    [
        ("/2026/11/harbor-gates/", b"", "/2026/11/harbor-gates/"),
        ("/story", b"page=2&utm_source=x", "/story?page=2&utm_source=x"),
        ("/a?b", b"", "/a%3Fb"),  # "/a%3Fb" on the wire: the ? stays escaped
        ("/a#b", b"x=1", "/a%23b?x=1"),
        ("/a\\b", b"", "/a%5Cb"),
        ("/a/b", b"", "/a/b"),  # "/a%2Fb" on the wire: Starlette's path is decoded
        ("/café/ünïcode", b"q=%C3%A9", "/café/ünïcode?q=%C3%A9"),
        ("/s", "q=é".encode(), "/s?q=é"),
        ("//double", b"", "//double"),
        ("/tab\there", b"", "/tabhere"),
        ("/s", b"a=1#frag", "/s?a=1"),
        ("/s", b"a=1?b=2", "/s?a=1?b=2"),
        ("/with space", b"", "/with space"),
    ],
)
def test_odd_paths_are_forwarded_as_the_url_spells_them(
    path: str, query: bytes, forwarded: str
) -> None:
    scope = _scope(path, query)
    assert request_target(Request(scope)) == forwarded == _by_url(scope)


def test_without_a_valid_host_a_double_slash_is_spelt_as_the_url_spells_it() -> None:
    for host in (None, b"bad host", b"news.example:99999"):
        scope = _scope("//double", host=host, server=None)
        assert request_target(Request(scope)) == "/%2Fdouble" == _by_url(scope)


def test_a_query_that_is_not_utf8_fails_as_the_url_does() -> None:
    scope = _scope("/s", b"q=\xff")
    with pytest.raises(UnicodeDecodeError):
        request_target(Request(scope))
    with pytest.raises(UnicodeDecodeError):
        _by_url(scope)


_PATH_CHARS = st.sampled_from(
    [*"/abz09-._~%?#\\:;@=&+ \t\r\n\x00\x7f", "é", "ü", "€", "\u2100", "\ufeff", "😀"]
)
_QUERY_BYTES = st.sampled_from(
    [bytes([b]) for b in b"az09=&%+?#/:; \t\r\n"] + [b"\xc3\xa9", b"\xff", b"\x00"]
)
_HOSTS = st.sampled_from(
    [
        None,
        b"news.example",
        b"news.example:8000",
        b"NEWS.example:080",
        b"[::1]:8000",
        b"[v1.x]",
        b"127.0.0.1",
        b"",
        b"bad host",
        b"a/b",
        b"a?b",
        b"news.example:99999",
        b"[::zz]",
        "h\xe9".encode("latin-1"),
    ]
)
# The servers uvicorn reports: an address and port, or none (a Unix socket).
_SERVERS = st.sampled_from([None, ("127.0.0.1", 8000), ("127.0.0.1", 80), ("::1", 443)])


@settings(max_examples=600, deadline=None)
@given(
    path=st.one_of(
        st.text(_PATH_CHARS, max_size=12).map(lambda p: "/" + p),
        st.text(_PATH_CHARS, max_size=12),
    ),
    query=st.lists(_QUERY_BYTES, max_size=10).map(b"".join),
    host=_HOSTS,
    server=_SERVERS,
    scheme=st.sampled_from(["http", "https"]),
)
@example(path="/x", query=b"", host=None, server=None, scheme="http")
@example(path="", query=b"a=1", host=b"news.example", server=None, scheme="http")
@example(path="*", query=b"", host=b"news.example", server=None, scheme="http")
def test_the_target_is_always_the_urls(
    path: str, query: bytes, host: bytes | None, server: tuple[str, int] | None, scheme: str
) -> None:
    expected, found = _either(_scope(path, query, host, server, scheme))
    assert found == expected
