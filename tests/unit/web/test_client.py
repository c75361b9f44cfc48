"""The request's own facts: client address, headers and the gift token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from meterwall.web.client import client_ip, request_facts

NOW = datetime(2026, 11, 3, tzinfo=UTC)
XFF = "x-forwarded-for"


def _request(
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    client: tuple[str, int] | None = ("198.51.100.7", 5000),
) -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/story",
        "query_string": query,
        "headers": headers or [],
        "client": client,
    }
    return Request(scope)


def test_facts_read_the_first_user_agent_and_referer() -> None:
    request = _request(
        headers=[
            (b"referer", b"https://www.google.com/"),
            (b"user-agent", b"Firefox/130 \xe9"),
            (b"user-agent", b"second"),
            (b"referer", b"https://other.example/"),
        ]
    )
    facts = request_facts(request, "r1", [], NOW, "story", header=XFF)
    assert facts.user_agent == request.headers.get("user-agent") == "Firefox/130 é"
    assert facts.referer == "https://www.google.com/"
    bare = request_facts(_request(), "r1", [], NOW, header=XFF)
    assert (bare.user_agent, bare.referer, bare.gift_token) == ("", "", None)


def test_facts_use_the_address_the_caller_already_worked_out() -> None:
    request = _request(headers=[(b"x-forwarded-for", b"203.0.113.9")], client=("10.0.0.2", 1))
    assert request_facts(request, "r1", ["10.0.0.0/8"], NOW, header=XFF).client_ip == "203.0.113.9"
    assert request_facts(
        request, "r1", ["10.0.0.0/8"], NOW, ip="203.0.113.9", header=XFF
    ).client_ip == ("203.0.113.9")
    assert request_facts(request, "r1", [], NOW, header=XFF).client_ip == "10.0.0.2"


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    forged = [(b"x-forwarded-for", b"66.249.66.1"), (b"forwarded", b"for=66.249.66.1")]
    assert client_ip(_request(headers=forged), [], XFF) == "198.51.100.7"
    assert client_ip(_request(headers=forged), (), XFF) == "198.51.100.7"
    assert client_ip(_request(headers=forged, client=None), [], XFF) == ""
    assert client_ip(_request(headers=forged, client=None), ["10.0.0.0/8"], XFF) == ""


def test_gift_tokens_only_for_articles() -> None:
    request = _request(b"gift=tok")
    assert request_facts(request, "r1", [], NOW, "story", header=XFF).gift_token == "tok"
    assert request_facts(request, "r1", [], NOW, header=XFF).gift_token is None


_QUERY_PARTS = st.sampled_from(
    [
        *(b"gift", b"g%69ft", b"%67ift", b"GIFT", b"gif", b"t", b"=", b"&", b";", b"+", b"%"),
        *(b"tok", b"%20", b"utm_source", b"\xff", b"\xc3\xa9", b"a"),
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_QUERY_PARTS, max_size=12).map(b"".join))
def test_the_gift_token_is_the_query_parameter(query: bytes) -> None:
    expected = _request(query).query_params.get("gift")
    assert request_facts(_request(query), "r1", [], NOW, "story", header=XFF).gift_token == expected


TRUSTED = ("10.0.0.2", 1)
ALL_THREE = [
    (b"x-forwarded-for", b"203.0.113.1"),
    (b"forwarded", b'for="[2001:db8::7]:4711";proto=https'),
    (b"x-real-ip", b"203.0.113.3"),
]


def test_only_the_declared_header_is_read() -> None:
    request = _request(headers=ALL_THREE, client=TRUSTED)
    assert client_ip(request, ["10.0.0.0/8"], "x-forwarded-for") == "203.0.113.1"
    assert client_ip(request, ["10.0.0.0/8"], "forwarded") == "2001:db8::7"
    assert client_ip(request, ["10.0.0.0/8"], "x-real-ip") == "203.0.113.3"
    facts = request_facts(request, "r1", ["10.0.0.0/8"], NOW, header="x-real-ip")
    assert facts.client_ip == "203.0.113.3"


def test_the_declared_header_is_read_from_the_right_skipping_trusted_hops() -> None:
    headers = [
        (b"forwarded", b"for=198.51.100.1, for=203.0.113.9"),
        (b"forwarded", b"for=10.0.0.5"),
        (b"x-forwarded-for", b"192.0.2.1"),
    ]
    request = _request(headers=headers, client=TRUSTED)
    assert client_ip(request, ["10.0.0.0/8"], "forwarded") == "203.0.113.9"
    assert client_ip(
        _request(headers=headers[2:], client=TRUSTED), ["10.0.0.0/8"], "forwarded"
    ) == ("10.0.0.2"), "without the declared header the proxy itself is the client"
    hidden = [(b"forwarded", b"for=_hidden")]
    assert client_ip(_request(headers=hidden, client=TRUSTED), ["10.0.0.0/8"], "forwarded") == (
        "10.0.0.2"
    )
