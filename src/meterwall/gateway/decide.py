"""Decide phase: which article a representation stands for, and who may have it whole.

The representation of an article (its Next.js data route, its RSC payload,
its JSON, text, fragment or print view) is the same read as its page:
:func:`represented` maps the request to the page it represents, and the
proxy takes the one access decision for that article, so a metered reader
spends one read however many representations they fetch.

A representation that stands for no one article (a content API listing
posts) is whole only for readers entitled to everything
(:func:`entitled_to_everything`); everyone else gets it cut.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from meterwall.access.model import AccessLevel, ArticleAccess, Policy, ReaderState, shows_full_text
from meterwall.access.policy import decide

_NEXT_DATA = re.compile(r"^/_next/data/[^/]+/(.+)\.json$")
_VARIANT_PARAMS = frozenset({"_rsc", "format", "output", "outputtype", "print", "_format"})
_PAGE_TYPES = frozenset({"", "text/html", "application/xhtml+xml", "*/*"})
_PRINT_SUFFIX = re.compile(r"/print/?$", re.IGNORECASE)

EVERYTHING = ArticleAccess(id="meterwall:every-article", access=AccessLevel.PREMIUM)
"""A stand-in for "any article": premium, so deciding on it never spends a meter read."""


def is_navigation(target: str, headers: Mapping[str, str]) -> bool:
    """Whether the request is a framework's client-side navigation (a Next.js data route or
    an RSC payload): refused for a gated reader, the framework then loads the gated page."""
    path, _, query = target.partition("?")
    if _NEXT_DATA.match(path) or headers.get("rsc") == "1":
        return True
    return any(p.split("=", 1)[0] == "_rsc" for p in query.split("&"))


def is_prefetch(headers: Mapping[str, str]) -> bool:
    """Whether the request is a prefetch (Next.js links in view, speculation rules): it
    must not spend a meter read on an article the reader may never open."""
    if headers.get("next-router-prefetch") == "1" or headers.get("x-middleware-prefetch") == "1":
        return True
    return "prefetch" in (headers.get("sec-purpose", "") + headers.get("purpose", "")).lower()


def negotiated(headers: Mapping[str, str]) -> bool:
    """Whether the request asked for something other than what a browser's page load
    asks for (JSON or text first in ``Accept``, an RSC payload, an XHR answer)."""
    if headers.get("rsc") == "1" or headers.get("x-requested-with"):
        return True
    preferred = headers.get("accept", "").split(",")[0].split(";")[0].strip().lower()
    return preferred not in _PAGE_TYPES


def page_of(target: str, headers: Mapping[str, str]) -> str | None:
    """The page whose article the response to this request may be a representation of;
    ``None`` when the request names no page but itself and asked for nothing special
    (an API's own address): fetching it again as HTML would only get the same answer."""
    page = represented(target)
    return page if page != target or negotiated(headers) else None


def represented(target: str) -> str:
    """The path and query of the page that a request for ``target`` may be a
    representation of (``target`` itself when nothing in it names a variant)."""
    path, _, query = target.partition("?")
    data_route = _NEXT_DATA.match(path)
    if data_route:
        page = "/" + data_route.group(1)
        return "/" if page == "/index" else page
    kept = [p for p in query.split("&") if p and p.split("=", 1)[0].lower() not in _VARIANT_PARAMS]
    page = _PRINT_SUFFIX.sub("/", path)
    return page + ("?" + "&".join(kept) if kept else "")


def entitled_to_everything(reader: ReaderState, policy: Policy, now: datetime) -> bool:
    """Whether ``reader`` may read every article whole (subscription, group licence,
    complimentary access, trial, verified crawler), decided without any meter read."""
    return shows_full_text(decide(EVERYTHING, reader, policy, now))
