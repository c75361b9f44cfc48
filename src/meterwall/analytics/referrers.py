"""Classifying where a visit came from, from the Referer header's host alone.

The full referrer (path, query, search terms) is never kept: only one of
``search``, ``social``, ``internal``, ``direct`` or ``other``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from enum import StrEnum
from urllib.parse import urlsplit


class ReferrerClass(StrEnum):
    """Where a visit came from."""

    SEARCH = "search"
    SOCIAL = "social"
    INTERNAL = "internal"
    DIRECT = "direct"
    OTHER = "other"


# Engines whose country domains vary (google.de, yandex.ru, search.yahoo.co.jp).
_SEARCH_PATTERN = re.compile(
    r"(^|\.)(google|yandex|yahoo|bing)\.(com|[a-z]{2}|co\.[a-z]{2}|com\.[a-z]{2})$"
)
_SEARCH_DOMAINS = (
    "duckduckgo.com",
    "baidu.com",
    "ecosia.org",
    "qwant.com",
    "startpage.com",
    "search.brave.com",
    "kagi.com",
    "naver.com",
    "seznam.cz",
    "perplexity.ai",
)
_SOCIAL_DOMAINS = (
    "facebook.com",
    "fb.com",
    "fb.me",
    "t.co",
    "twitter.com",
    "x.com",
    "linkedin.com",
    "lnkd.in",
    "reddit.com",
    "instagram.com",
    "threads.net",
    "bsky.app",
    "mastodon.social",
    "youtube.com",
    "pinterest.com",
    "tiktok.com",
    "whatsapp.com",
    "t.me",
    "news.ycombinator.com",
)
_SEARCH_APPS = ("com.google.android.googlequicksearchbox",)
_SOCIAL_APPS = (
    "com.facebook.katana",
    "com.twitter.android",
    "com.linkedin.android",
    "com.reddit.frontpage",
    "com.instagram.android",
)


def _within(host: str, domains: Collection[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def classify_referrer(referer: str | None, own_hosts: Collection[str]) -> ReferrerClass:
    """The class of a visit whose ``Referer`` header is ``referer``.

    ``own_hosts`` are the site's own host names: a visit from one of them is
    ``internal``.  No header is ``direct``; anything unreadable is ``other``.
    """
    if referer is None or not referer.strip():
        return ReferrerClass.DIRECT
    try:
        parts = urlsplit(referer.strip())
        host = (parts.hostname or "").rstrip(".").casefold()
    except ValueError:
        return ReferrerClass.OTHER
    if parts.scheme == "android-app":
        if host in _SEARCH_APPS:
            return ReferrerClass.SEARCH
        return ReferrerClass.SOCIAL if host in _SOCIAL_APPS else ReferrerClass.OTHER
    if not host:
        return ReferrerClass.OTHER
    if host in own_hosts:
        return ReferrerClass.INTERNAL
    if _SEARCH_PATTERN.search(host) or _within(host, _SEARCH_DOMAINS):
        return ReferrerClass.SEARCH
    if _within(host, _SOCIAL_DOMAINS):
        return ReferrerClass.SOCIAL
    return ReferrerClass.OTHER
