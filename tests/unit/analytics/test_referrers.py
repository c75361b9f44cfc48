"""Where a visit came from is judged from the Referer host alone."""

from __future__ import annotations

import pytest

from meterwall.analytics.referrers import ReferrerClass, classify_referrer

OWN = {"news.example.com"}


@pytest.mark.parametrize(
    ("referer", "expected"),
    [
        (None, ReferrerClass.DIRECT),
        ("", ReferrerClass.DIRECT),
        ("   ", ReferrerClass.DIRECT),
        ("https://www.google.com/search?q=harbor+strike", ReferrerClass.SEARCH),
        ("https://www.google.co.uk/", ReferrerClass.SEARCH),
        ("https://news.google.com/articles/x", ReferrerClass.SEARCH),
        ("https://www.bing.com/search?q=x", ReferrerClass.SEARCH),
        ("https://duckduckgo.com/", ReferrerClass.SEARCH),
        ("https://search.yahoo.co.jp/", ReferrerClass.SEARCH),
        ("android-app://com.google.android.googlequicksearchbox/", ReferrerClass.SEARCH),
        ("https://l.facebook.com/l.php?u=x", ReferrerClass.SOCIAL),
        ("https://t.co/abc", ReferrerClass.SOCIAL),
        ("https://x.com/someone/status/1", ReferrerClass.SOCIAL),
        ("https://old.reddit.com/r/news", ReferrerClass.SOCIAL),
        ("android-app://com.twitter.android/", ReferrerClass.SOCIAL),
        ("https://news.example.com/articles/other", ReferrerClass.INTERNAL),
        ("https://NEWS.EXAMPLE.COM./", ReferrerClass.INTERNAL),
        ("https://example.org/blog", ReferrerClass.OTHER),
        ("https://notgoogle.example/", ReferrerClass.OTHER),
        ("https://google.evil.example/", ReferrerClass.OTHER),
        ("not a url at all", ReferrerClass.OTHER),
        ("http://[::1", ReferrerClass.OTHER),
    ],
)
def test_referrer_classes(referer: str | None, expected: ReferrerClass) -> None:
    assert classify_referrer(referer, OWN) is expected
