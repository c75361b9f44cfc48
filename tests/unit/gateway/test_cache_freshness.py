"""HTTP caching rules of the shared upstream cache (RFC 9111, RFC 5861)."""

from __future__ import annotations

from email.utils import formatdate

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterwall.gateway.cache.freshness import (
    KEEP_FOR_REVALIDATION,
    Defaults,
    conditional_headers,
    delta_seconds,
    freshness,
    merge_not_modified,
    not_storable,
    parse_cache_control,
    varied_on,
)

NOW = 1_800_000_000.0
DEFAULTS = Defaults(ttl=60, stale_while_revalidate=30, stale_if_error=300)


def h(**values: str) -> httpx.Headers:
    return httpx.Headers({k.replace("_", "-"): v for k, v in values.items()})


def fresh_for(headers: httpx.Headers, defaults: Defaults = DEFAULTS) -> float:
    return freshness(headers, NOW, NOW, defaults).lifetime


def test_directives_are_parsed_case_insensitively_with_quoted_commas() -> None:
    parsed = parse_cache_control(['Public, MAX-AGE=60, no-cache="Set-Cookie, X-A"', "s-maxage=5"])
    assert parsed == {
        "public": None,
        "max-age": "60",
        "no-cache": "Set-Cookie, X-A",
        "s-maxage": "5",
    }


def test_the_first_of_a_repeated_directive_wins() -> None:
    assert parse_cache_control(["max-age=10, max-age=99"])["max-age"] == "10"


@given(st.text())
def test_any_header_value_parses_without_error(value: str) -> None:
    parsed = parse_cache_control([value])
    assert all(name == name.lower() for name in parsed)


@pytest.mark.parametrize(
    ("value", "seconds"), [("60", 60), (" 7 ", 7), ("-1", None), ("1e3", None)]
)
def test_delta_seconds(value: str, seconds: int | None) -> None:
    assert delta_seconds(value) == seconds


@pytest.mark.parametrize(
    ("status", "headers", "reason"),
    [
        (200, h(cache_control="no-store"), "no-store"),
        (200, h(cache_control="private, max-age=600"), "private"),
        (200, h(cache_control="max-age=600", set_cookie="session=1"), "it sets a cookie"),
        (200, h(vary="*"), "Vary: *"),
        (206, h(content_range="bytes 0-9/100"), "a partial response"),
        (500, h(cache_control="max-age=600"), "status 500"),
        (302, h(), "status 302"),
        (200, h(cache_control="no-cache"), "no-cache without a validator"),
    ],
)
def test_responses_a_shared_cache_must_not_keep(
    status: int, headers: httpx.Headers, reason: str
) -> None:
    assert not_storable(status, headers, DEFAULTS) == reason


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (200, h()),
        (200, h(cache_control="public, max-age=60")),
        (404, h()),
        (301, h(location="/elsewhere")),
        (302, h(cache_control="max-age=60")),
        (200, h(cache_control="no-cache", etag='"v1"')),
    ],
)
def test_responses_a_shared_cache_may_keep(status: int, headers: httpx.Headers) -> None:
    assert not_storable(status, headers, DEFAULTS) is None


def test_without_a_default_ttl_only_validatable_pages_are_kept() -> None:
    no_ttl = Defaults(ttl=0)
    assert not_storable(200, h(), no_ttl) == "no lifetime and no validator"
    assert not_storable(200, h(etag='"v1"'), no_ttl) is None
    assert fresh_for(h(etag='"v1"'), no_ttl) == 0


def test_lifetime_precedence_s_maxage_then_max_age_then_expires_then_default() -> None:
    expires = formatdate(NOW + 500, usegmt=True)
    date = formatdate(NOW, usegmt=True)
    assert fresh_for(h(cache_control="max-age=100, s-maxage=20", expires=expires)) == 20
    assert fresh_for(h(cache_control="max-age=100", expires=expires)) == 100
    assert fresh_for(h(expires=expires, date=date)) == 500
    assert fresh_for(h()) == 60


def test_an_invalid_expires_means_already_stale() -> None:
    assert fresh_for(h(expires="0")) == 0


def test_no_cache_is_kept_but_always_revalidated() -> None:
    f = freshness(h(cache_control="no-cache, max-age=600", etag='"a"'), NOW, NOW, DEFAULTS)
    assert not f.fresh(NOW)
    assert f.stale_while_revalidate == 0
    assert f.stale_if_error == 0


def test_age_counts_from_the_upstream_age_header_and_the_date() -> None:
    aged = freshness(h(cache_control="max-age=100", age="40"), NOW - 2, NOW, DEFAULTS)
    assert aged.age(NOW) == 42, "the Age value plus the time the response took"
    assert aged.fresh(NOW + 57) and not aged.fresh(NOW + 58)
    dated = freshness(
        h(cache_control="max-age=100", date=formatdate(NOW - 30, usegmt=True)), NOW, NOW, DEFAULTS
    )
    assert dated.age(NOW) == 30


@given(
    lifetime=st.integers(0, 10_000),
    age=st.integers(0, 10_000),
    elapsed=st.floats(0, 20_000, allow_nan=False),
)
def test_a_response_is_fresh_exactly_while_its_age_is_below_its_lifetime(
    lifetime: int, age: int, elapsed: float
) -> None:
    f = freshness(h(cache_control=f"max-age={lifetime}", age=str(age)), NOW, NOW, DEFAULTS)
    assert f.fresh(NOW + elapsed) == (f.age(NOW + elapsed) < lifetime)


def test_upstream_stale_directives_are_honoured() -> None:
    f = freshness(
        h(cache_control="max-age=10, stale-while-revalidate=20, stale-if-error=100"),
        NOW,
        NOW,
        DEFAULTS,
    )
    assert f.serve_while_revalidating(NOW + 29) and not f.serve_while_revalidating(NOW + 31)
    assert f.serve_on_error(NOW + 109) and not f.serve_on_error(NOW + 111)


def test_the_default_stale_window_only_extends_the_default_lifetime() -> None:
    chosen = freshness(h(cache_control="max-age=10"), NOW, NOW, DEFAULTS)
    assert chosen.stale_while_revalidate == 0, "max-age=10 means stale after 10 s"
    assert chosen.stale_if_error == 300, "serving stale while the upstream is down is allowed"
    default = freshness(h(), NOW, NOW, DEFAULTS)
    assert default.stale_while_revalidate == 30


@pytest.mark.parametrize("directive", ["must-revalidate", "proxy-revalidate", "s-maxage=10"])
def test_revalidation_requirements_switch_off_default_stale_serving(directive: str) -> None:
    f = freshness(h(cache_control=f"max-age=10, {directive}"), NOW, NOW, DEFAULTS)
    assert f.stale_while_revalidate == 0
    assert f.stale_if_error == 0


def test_validatable_responses_are_kept_for_revalidation_after_they_expire() -> None:
    plain = freshness(h(cache_control="max-age=10"), NOW, NOW, DEFAULTS)
    tagged = freshness(h(cache_control="max-age=10", etag='"x"'), NOW, NOW, DEFAULTS)
    assert plain.keep_until == NOW + 10 + 300
    assert tagged.keep_until == NOW + 10 + KEEP_FOR_REVALIDATION


def test_conditional_headers_use_both_validators() -> None:
    stored = h(etag='W/"v2"', last_modified="Sun, 15 Nov 2026 12:00:00 GMT")
    assert conditional_headers(stored) == [
        ("if-none-match", 'W/"v2"'),
        ("if-modified-since", "Sun, 15 Nov 2026 12:00:00 GMT"),
    ]
    assert conditional_headers(h()) == []


def test_a_304_updates_metadata_but_never_the_body_headers_or_cookies() -> None:
    stored = h(
        content_type="text/html",
        content_encoding="gzip",
        content_length="100",
        cache_control="max-age=10",
        etag='"v1"',
        x_extra="kept",
    )
    merged = merge_not_modified(
        stored,
        h(
            cache_control="max-age=99",
            etag='"v1"',
            content_length="0",
            content_type="text/plain",
            set_cookie="a=b",
        ),
    )
    assert merged["cache-control"] == "max-age=99"
    assert merged["content-type"] == "text/html"
    assert merged["content-encoding"] == "gzip"
    assert merged["content-length"] == "100"
    assert merged["x-extra"] == "kept"
    assert "set-cookie" not in merged


def test_vary_names_are_collected_from_every_vary_header() -> None:
    headers = httpx.Headers([("vary", "Accept-Encoding, Accept-Language"), ("vary", "cookie")])
    assert varied_on(headers) == ("accept-encoding", "accept-language", "cookie")
