"""The one canonical form of a proxied request (issue 11, "One request, one meaning")."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterwall.gateway.normalise import (
    Ambiguous,
    Canonical,
    canonical_path,
    canonical_target,
    canonicalise,
    form_params,
    php_name,
)
from tests.fixtures.upstream.server import php_variable, server_path


def _scope(
    target: str, method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    path, _, query = target.partition("?")
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "headers": headers or [],
    }


@pytest.mark.parametrize(
    ("sent", "canonical"),
    [
        ("/2026/12/slug/", "/2026/12/slug/"),
        ("/./2026/12/slug/", "/2026/12/slug/"),
        ("/2026/./12/slug/", "/2026/12/slug/"),
        ("/slug/./", "/slug/"),
        ("/slug/.", "/slug/"),
        ("/2026/12/x/../slug/", "/2026/12/slug/"),
        ("/slug/%2e/", "/slug/"),
        ("/a/%2E%2e/b", "/b"),
        ("/a/.%2e/b", "/b"),
        ("/../../a", "/a"),
        ("/a/b/..", "/a/"),
        ("//a", "/a"),
        ("/a//b///", "/a/b/"),
        ("/a;x=1", "/a"),
        ("/a;x=1/b;y/", "/a/b/"),
        ("/a/..;/b", "/b"),
        ("/%41%7e%2d%5f", "/A~-_"),
        ("/caf%c3%a9/%3B%3f", "/caf%c3%a9/%3B%3f"),
        ("/a b\xe9", "/a%20b%E9"),
        ("/100%", "/100%25"),
        ("/live/../2026/12/slug/", "/2026/12/slug/"),
        ("/index.php/wp-json/wp/v2/posts", "/wp-json/wp/v2/posts"),
        ("/INDEX.PHP/2026/12/slug/", "/2026/12/slug/"),
        ("/index.php/index.php/a", "/a"),
        ("/index.php/", "/"),
        ("/index.php", "/index.php"),
        ("/index.phpx/a", "/index.phpx/a"),
        ("/x/../index.php/a", "/a"),
        ("/.well-known/a", "/.well-known/a"),
        ("/", "/"),
    ],
)
def test_paths(sent: str, canonical: str) -> None:
    assert canonical_path(sent.encode("latin-1")) == canonical


@pytest.mark.parametrize(
    "sent", ["/%2Fwp-json/", "/a%2fb", "/a%5Cb", "/a%5cb", "/a\\b", "/a%00", "a/b", "*"]
)
def test_paths_with_no_one_meaning_are_refused(sent: str) -> None:
    with pytest.raises(Ambiguous):
        canonical_path(sent.encode("latin-1"))


@pytest.mark.parametrize(
    "query",
    [
        "rest_route=/wp/v2/posts",
        "rest.route=/wp/v2/posts",
        "rest%5Froute=/wp/v2/posts",
        "rest%5froute=/wp/v2/posts",
        "%72est_route=/wp/v2/posts",
        "rest+route=/wp/v2/posts",
        "rest%20route=/wp/v2/posts",
        "rest[route=/wp/v2/posts",
        "rest%5Broute=/wp/v2/posts",
        "rest%2Eroute=/wp/v2/posts",
        "+rest_route=/wp/v2/posts",
        "%20%20rest_route=/wp/v2/posts",
        "rest_route%00anything=/wp/v2/posts",
    ],
)
def test_every_spelling_of_rest_route_reads_rest_route(query: str) -> None:
    canonical = canonicalise(_scope("/?" + query))
    assert canonical.query == "rest_route=/wp/v2/posts"
    assert canonical.params == (("rest_route", "/wp/v2/posts"),)
    assert re.search(r"[?&]rest_route=", canonical.matched)


@pytest.mark.parametrize(
    ("sent", "canonical", "params"),
    [
        ("s=harbor+gates&paged=2", "s=harbor+gates&paged=2", [("s", "harbor+gates")]),
        ("cat[]=1&cat[]=2", "cat[]=1&cat[]=2", [("cat", "1"), ("cat", "2")]),
        ("a.b[c.d]=1", "a_b%5Bc.d%5D=1", [("a_b", "1")]),
        ("rest_route[]=/x", "rest_route[]=/x", [("rest_route", "/x")]),
        ("a[b=1", "a_b=1", [("a_b", "1")]),
        ("q=%7e%41%2f", "q=~A%2f", [("q", "~A%2f")]),
        ("amp", "amp", [("amp", "")]),
        ("&&a=1&", "a=1", [("a", "1")]),
        ("=x&[a]=1&%00=2&+=3", "", []),
        ("a=1#frag", "a=1%23frag", [("a", "1%23frag")]),
    ],
)
def test_queries(sent: str, canonical: str, params: list[tuple[str, str]]) -> None:
    found = canonicalise(_scope("/?" + sent))
    assert found.query == canonical
    assert list(found.params)[: len(params)] == params


def test_php_names() -> None:
    assert php_name(b"a.b c") == (b"a_b_c", b"a_b_c")
    assert php_name(b"a.b[c.d][e]") == (b"a_b[c.d][e]", b"a_b")
    assert php_name(b"a[b.c") == (b"a_b_c", b"a_b_c")
    assert php_name(b"  a\0b") == (b"a", b"a")
    assert php_name(b"[a]") == (b"[a]", b"")


FORM = [(b"content-type", b"application/x-www-form-urlencoded; charset=UTF-8")]


@pytest.mark.parametrize(
    "body", [b"rest_route=/wp/v2/posts", b"rest.route=%2Fwp%2Fv2%2Fposts", b"x=1&rest+route=/a"]
)
def test_form_bodies_are_read_as_php_reads_them(body: bytes) -> None:
    canonical = canonicalise(_scope("/", "POST", FORM), body)
    assert "rest_route" in dict(canonical.params)
    assert re.search(r"[?&]rest_route=", canonical.matched)
    assert canonical.target == "/"


def test_multipart_fields_are_read_too() -> None:
    body = (
        b'--xyz\r\nContent-Disposition: form-data; name="rest.route"\r\n\r\n/wp/v2/posts\r\n'
        b'--xyz\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nhello\r\n--xyz--\r\n"
    )
    params = form_params("multipart/form-data; boundary=xyz", body)
    assert params == [("rest_route", "/wp/v2/posts"), ("f", "hello")]


def test_other_bodies_carry_no_parameters() -> None:
    assert form_params("application/json", b'{"rest_route": "/x"}') == []
    assert form_params("multipart/form-data", b"no boundary") == []
    assert form_params(FORM[0][1].decode(), None) == []


@pytest.mark.parametrize(
    ("method", "target", "headers", "body", "effective"),
    [
        ("POST", "/?_method=GET", [], b"", "GET"),
        ("POST", "/", FORM, b"_method=get", "GET"),
        ("POST", "/", [(b"x-http-method-override", b"GET")], b"", "GET"),
        ("POST", "/", [(b"x-http-method", b"PUT")], b"", "PUT"),
        ("POST", "/", [(b"x-method-override", b"delete")], b"", "DELETE"),
        ("GET", "/?_method=GET", [], b"", "GET"),
        ("POST", "/", [], b"", "POST"),
    ],
)
def test_method_overrides_give_the_effective_method(
    method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes, effective: str
) -> None:
    assert canonicalise(_scope(target, method, headers), body).method == effective


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        ("GET", "/", [(b"x-http-method-override", b"POST")]),
        ("HEAD", "/?_method=GET", []),
        ("POST", "/?_method=GET", [(b"x-http-method-override", b"PUT")]),
        ("POST", "/", [(b"x-http-method-override", b"G E T")]),
    ],
)
def test_method_overrides_with_no_one_meaning_are_refused(
    method: str, target: str, headers: list[tuple[bytes, bytes]]
) -> None:
    with pytest.raises(Ambiguous):
        canonicalise(_scope(target, method, headers))


def test_the_target_and_what_patterns_see() -> None:
    canonical = Canonical("GET", "/a", "x.y=1", (("x_y", "1"),))
    assert canonical.target == "/a?x.y=1"
    assert canonical.matched == "/a?x_y=1"
    assert Canonical("GET", "/a", "", ()).matched == "/a"


def test_a_text_target_is_canonicalised_like_a_request() -> None:
    assert canonical_target("/./a/?rest.route=1") == "/a/?rest_route=1"
    assert canonical_target("/caf\xe9") == "/caf%C3%A9"


# Properties, over targets built from the pieces that tricks are made of.

_PATH_PIECES = st.sampled_from(
    [
        "/",
        "a",
        "b",
        ".",
        "..",
        "%2e",
        "%2E",
        "%41",
        "%7e",
        "%5F",
        ";x=1",
        ";",
        "index.php",
        "INDEX.PHP",
        "%20",
        "%c3%a9",
        "%3B",
        "%25",
        "%",
        "~",
        ":",
        "@",
        "!",
        "é",
        "%3f",
    ]
)
_QUERY_PIECES = st.sampled_from(
    [
        "rest",
        "route",
        ".",
        "+",
        "%20",
        "[",
        "]",
        "_",
        "=",
        "&",
        "%5F",
        "%72",
        "%00",
        "a",
        "%2E",
        "%5B",
        "%5D",
        "%7e",
        "/",
        "%2F",
        "%",
        "%25",
        "ÿ",
        "1",
    ]
)
_TARGETS = st.builds(
    lambda path, query: "/" + "".join(path) + ("?" + "".join(query) if query else ""),
    st.lists(_PATH_PIECES, max_size=12),
    st.lists(_QUERY_PIECES, max_size=12),
)


def _canonical(target: str) -> Canonical | None:
    try:
        return canonicalise(_scope(target))
    except Ambiguous:
        return None


_UNRESERVED_ESCAPE = re.compile(r"%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[DEde]|5[Ff]|7[Ee])")


@settings(max_examples=600, deadline=None)
@given(_TARGETS)
def test_canonical_forms_are_fixed_points(target: str) -> None:
    canonical = _canonical(target)
    if canonical is None:
        return
    again = canonicalise(_scope(canonical.target))
    assert again == canonical


@settings(max_examples=600, deadline=None)
@given(_TARGETS)
def test_no_trick_survives(target: str) -> None:
    canonical = _canonical(target)
    if canonical is None:
        return
    segments = canonical.path.split("/")[1:]
    assert "." not in segments and ".." not in segments
    assert "//" not in canonical.path and ";" not in canonical.path
    assert not _UNRESERVED_ESCAPE.search(canonical.target)
    assert not canonical.path.casefold().startswith("/index.php/")
    for name, _ in canonical.params:
        assert not re.search(r"[. \[]|%(?:20|2E|5B)", name, re.IGNORECASE)
    assert canonical.target.isascii() and canonical.target.isprintable()


def _php_reads(query: str) -> dict[str, str]:
    return {
        php_variable(k): v
        for k, v in parse_qsl(query, keep_blank_values=True, encoding="latin-1")
        if php_variable(k)
    }


@settings(max_examples=600, deadline=None)
@given(_TARGETS)
def test_the_canonical_form_means_what_the_request_meant(target: str) -> None:
    canonical = _canonical(target)
    if canonical is None:
        return
    raw_path, _, raw_query = target.partition("?")
    # A server decodes raw bytes and their escapes alike.
    raw_path = re.sub(r"[^\x00-\x7f]", lambda m: f"%{ord(m.group()):02X}", raw_path)
    assert server_path(canonical.path) == server_path(raw_path)
    assert _php_reads(canonical.query) == _php_reads(raw_query)
