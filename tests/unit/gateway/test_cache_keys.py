"""Which requests may share a cached page, their keys, and what a purge names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterwall.gateway.cache.config import CacheSettings
from meterwall.gateway.cache.keys import KeyRules, purge_paths

RULES = KeyRules(CacheSettings(vary=["Accept-Language"]))
BASE = [("accept-encoding", "gzip, deflate"), ("host", "upstream.internal")]


def test_requests_with_credentials_or_personal_cookies_never_share_a_page() -> None:
    assert RULES.key("/story", [*BASE, ("authorization", "Basic eDp5")]) is None
    assert RULES.key("/story", [*BASE, ("cookie", "wordpress_logged_in_abc=1")]) is None
    assert RULES.key("/story", [*BASE, ("cookie", "_ga=GA1.1; wp-postpass_x=1")]) is None


def test_analytics_cookies_do_not_stop_sharing() -> None:
    assert RULES.key("/story", [*BASE, ("cookie", "_ga=GA1.2.3; _gid=x; _fbp=fb.1")]) is not None


def test_tracking_parameters_and_gift_tokens_are_not_part_of_the_key() -> None:
    plain = RULES.key("/story?page=2", BASE)
    tracked = RULES.key("/story?utm_source=x&page=2&fbclid=abc&gift=tok", BASE)
    assert plain == tracked
    assert plain is not None and plain.target == "/story?page=2"
    assert plain.group == "/story"


def test_meaningful_parameters_and_paths_stay_distinct() -> None:
    keys = {RULES.key(t, BASE) for t in ("/story", "/story?page=2", "/Story", "/story/")}
    assert len(keys) == 4


def test_encoding_and_configured_vary_headers_select_the_variant() -> None:
    gzip = RULES.key("/s", BASE)
    identity = RULES.key("/s", [("accept-encoding", "identity")])
    french = RULES.key("/s", [*BASE, ("accept-language", "fr")])
    assert len({gzip, identity, french}) == 3
    assert gzip is not None and identity is not None and gzip.group == identity.group


def test_keys_read_repeated_and_mixed_case_headers_as_one_value() -> None:
    split = RULES.key(
        "/s",
        [
            ("Accept-Encoding", "gzip"),
            ("accept-language", "fr"),
            ("ACCEPT-ENCODING", " deflate"),
            ("Accept-Language", "en"),
        ],
    )
    joined = RULES.key("/s", [("accept-encoding", "gzip, deflate"), ("accept-language", "fr, en")])
    assert split == joined
    assert split is not None and split.variant == "\ngzip, deflate\nfr, en"
    assert RULES.key("/s", [("Authorization", "")]) is None
    assert RULES.key("/s", [("Cookie", "_ga=1"), ("cookie", "session=2")]) is None
    assert RULES.key("/s", [("Cookie", "")]) is not None
    assert RULES.cacheable([("COOKIE", "_gid=1")])


def test_fill_requests_carry_nothing_personal_or_conditional() -> None:
    sent = RULES.fill_headers(
        [
            *BASE,
            ("cookie", "_ga=1"),
            ("if-none-match", '"x"'),
            ("range", "bytes=0-10"),
            ("cache-control", "no-cache"),
            ("user-agent", "Firefox"),
        ]
    )
    assert dict(sent) == {**dict(BASE), "user-agent": "Firefox"}


def test_cookies_count_as_none_when_a_response_varies_on_them() -> None:
    assert RULES.varied(["cookie", "accept-language"], [("cookie", "_ga=1")]) == (
        ("cookie", ""),
        ("accept-language", ""),
    )


@given(st.text(alphabet="abcxyz_=&%+", max_size=40))
def test_dropping_ignored_parameters_is_idempotent(query: str) -> None:
    once = RULES.target("/p?" + query)
    assert RULES.target(once) == once


def test_purge_names_both_trailing_slash_spellings() -> None:
    origins = ["https://news.example", "http://127.0.0.1:8080"]
    assert purge_paths("https://news.example/2026/11/story/", origins) == [
        "/2026/11/story",
        "/2026/11/story/",
    ]
    assert purge_paths("http://127.0.0.1:8080/a?x=1#top", origins) == ["/a", "/a/"]
    assert purge_paths("/", origins) == ["/"]


@pytest.mark.parametrize("url", ["https://elsewhere.example/a", "ftp://news.example/a", " "])
def test_purge_refuses_urls_of_other_sites(url: str) -> None:
    with pytest.raises(ValueError):
        purge_paths(url, ["https://news.example"])


def test_settings_refuse_personal_vary_headers() -> None:
    with pytest.raises(ValueError, match="cannot select a shared page"):
        CacheSettings(vary=["Cookie"])
    with pytest.raises(ValueError, match="not an HTTP header name"):
        CacheSettings(vary=["bad header"])
