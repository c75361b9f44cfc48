"""The reader cookie is read exactly as Starlette reads cookies."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from meterwall.web.reader import cookie_value


def _request(*cookie_headers: bytes) -> Request:
    headers = [(b"host", b"news.example"), *((b"cookie", value) for value in cookie_headers)]
    return Request({"type": "http", "headers": headers})


def test_the_reader_cookie_among_others() -> None:
    request = _request(b'_ga=GA1.2; mw_reader="a.b\\073c"; x=mw_reader=1', b"mw_reader=late ")
    assert cookie_value(request, "mw_reader") == request.cookies["mw_reader"] == "late"
    assert cookie_value(_request(b"_ga=1; mw_readers=x"), "mw_reader") is None
    assert cookie_value(_request(), "mw_reader") is None
    assert cookie_value(_request(b'mw_reader="a\\073b"'), "mw_reader") == "a;b"


_PARTS = st.sampled_from(
    [
        *(b"mw_reader", b" mw_reader ", b"mw_readerx", b"_ga", b"=", b";", b" ", b"\t", b'"'),
        *(b"\\073", b"\\\\", b"abc.def", b"\xe9", b",", b"mw_reader=", b"=mw_reader"),
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(_PARTS, max_size=10).map(b"".join), max_size=3))
def test_the_cookie_is_what_request_cookies_says(cookie_headers: list[bytes]) -> None:
    request = _request(*cookie_headers)
    assert cookie_value(request, "mw_reader") == _request(*cookie_headers).cookies.get("mw_reader")
