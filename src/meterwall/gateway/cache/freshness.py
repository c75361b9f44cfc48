"""HTTP caching rules for a shared cache (RFC 9111 and RFC 5861), as pure functions.

Which upstream responses may be kept, for how long they are fresh, how
long a stale one may still be served (while it is refreshed, or while the
upstream fails), how to revalidate one, and how a ``304 Not Modified``
updates it.  Times are Unix seconds; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

STORABLE_STATUSES = frozenset({200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501})
"""Statuses kept even without explicit freshness (RFC 9110's heuristically cacheable ones)."""
EXPLICIT_ONLY_STATUSES = frozenset({302, 307})
"""Statuses kept only when the upstream gives them a lifetime."""
ERROR_STATUSES = frozenset({500, 502, 503, 504})
"""Upstream answers that count as errors for ``stale-if-error``."""
KEEP_FOR_REVALIDATION = 86_400
"""Seconds a stale response with a validator is kept for a conditional request."""

_MAX_DELTA = 2**31
_STRICT = ("must-revalidate", "proxy-revalidate", "s-maxage", "no-cache")
_UNMERGED = frozenset(
    {
        "content-length",
        "content-encoding",
        "content-type",
        "content-range",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "set-cookie",
        "age",
    }
)


def parse_cache_control(values: Iterable[str]) -> dict[str, str | None]:
    """The directives of one or more ``Cache-Control`` values, names lower-cased.

    A directive given twice keeps its first value; quoted values lose their
    quotes.  Commas inside quoted strings do not split directives.
    """
    directives: dict[str, str | None] = {}
    for value in values:
        for part in _split(value):
            name, eq, argument = part.partition("=")
            name = name.strip().lower()
            if not name or name in directives:
                continue
            text = argument.strip()
            if len(text) >= 2 and text[0] == text[-1] == '"':
                text = text[1:-1]
            directives[name] = text if eq else None
    return directives


def _split(value: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def delta_seconds(value: str | None) -> int | None:
    """A ``delta-seconds`` argument; ``None`` when missing or malformed."""
    if value is None:
        return None
    text = value.strip()
    if not text.isdigit():
        return None
    return min(int(text), _MAX_DELTA)


def http_date(value: str | None) -> float | None:
    """An HTTP date as Unix seconds; ``None`` when missing or malformed."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        return None
    return moment.timestamp()


@dataclass(frozen=True, slots=True)
class Defaults:
    """The cache operator's values for upstreams that say nothing."""

    ttl: int = 60
    stale_while_revalidate: int = 30
    stale_if_error: int = 300


@dataclass(frozen=True, slots=True)
class Freshness:
    """How long one stored response may be used, as absolute and relative times.

    ``stored_at`` is when the response arrived; ``initial_age`` its age
    then (from ``Age`` and ``Date``); ``lifetime`` how long it is fresh
    counted from its origin; the two ``stale_*`` windows follow the end
    of freshness.
    """

    stored_at: float
    initial_age: float
    lifetime: float
    stale_while_revalidate: float
    stale_if_error: float
    validatable: bool

    def age(self, now: float) -> float:
        """The response's current age in seconds."""
        return self.initial_age + max(0.0, now - self.stored_at)

    @property
    def expires_at(self) -> float:
        """When the response stops being fresh."""
        return self.stored_at - self.initial_age + self.lifetime

    def fresh(self, now: float) -> bool:
        """Whether the response may be served without asking the upstream."""
        return now < self.expires_at

    def serve_while_revalidating(self, now: float) -> bool:
        """Whether a stale response may be served while a refresh runs in the background."""
        return now < self.expires_at + self.stale_while_revalidate

    def serve_on_error(self, now: float) -> bool:
        """Whether a stale response may be served because the upstream failed."""
        return now < self.expires_at + self.stale_if_error

    @property
    def keep_until(self) -> float:
        """When the stored response is worthless and may be dropped."""
        keep = max(self.stale_while_revalidate, self.stale_if_error)
        if self.validatable:
            keep = max(keep, KEEP_FOR_REVALIDATION)
        return self.expires_at + keep


def has_validator(headers: httpx.Headers) -> bool:
    """Whether the response carries an ``ETag`` or a ``Last-Modified`` to revalidate with."""
    return bool(headers.get("etag") or headers.get("last-modified"))


def _vary(headers: httpx.Headers) -> list[str]:
    names: list[str] = []
    for value in headers.get_list("vary"):
        names += [n.strip().lower() for n in value.split(",") if n.strip()]
    return names


def _explicit_lifetime(
    directives: Mapping[str, str | None], headers: httpx.Headers, stored_at: float
) -> float | None:
    for name in ("s-maxage", "max-age"):
        if name in directives:
            seconds = delta_seconds(directives[name])
            return 0.0 if seconds is None else float(seconds)
    if "expires" in headers:
        expires = http_date(headers.get("expires"))
        if expires is None:
            return 0.0
        date = http_date(headers.get("date"))
        return max(0.0, expires - (date if date is not None else stored_at))
    return None


def not_storable(status: int, headers: httpx.Headers, defaults: Defaults) -> str | None:
    """Why a shared cache must not keep this response to a GET; ``None`` if it may."""
    directives = parse_cache_control(headers.get_list("cache-control"))
    if "no-store" in directives:
        return "no-store"
    if "private" in directives:
        return "private"
    if "set-cookie" in headers:
        return "it sets a cookie"
    if "*" in _vary(headers):
        return "Vary: *"
    if "content-range" in headers or status == 206:
        return "a partial response"
    explicit = _explicit_lifetime(directives, headers, 0.0) is not None
    if status not in STORABLE_STATUSES and not (status in EXPLICIT_ONLY_STATUSES and explicit):
        return f"status {status}"
    if "no-cache" in directives and not has_validator(headers):
        return "no-cache without a validator"
    if not explicit and defaults.ttl == 0 and not has_validator(headers):
        return "no lifetime and no validator"
    return None


def freshness(
    headers: httpx.Headers, request_time: float, response_time: float, defaults: Defaults
) -> Freshness:
    """The freshness of a response requested at ``request_time`` and received at
    ``response_time`` (RFC 9111 section 4.2)."""
    directives = parse_cache_control(headers.get_list("cache-control"))
    date = http_date(headers.get("date"))
    apparent_age = max(0.0, response_time - date) if date is not None else 0.0
    age_value = delta_seconds(headers.get("age")) or 0
    initial_age = max(apparent_age, age_value + max(0.0, response_time - request_time))
    explicit = _explicit_lifetime(directives, headers, response_time)
    lifetime = explicit if explicit is not None else float(defaults.ttl)
    if "no-cache" in directives:
        lifetime = 0.0
    strict = any(d in directives for d in _STRICT)
    swr = delta_seconds(directives.get("stale-while-revalidate"))
    if swr is None:
        # Serving stale without the upstream's leave is the cache's own policy, so it
        # only extends the default lifetime, never a lifetime the upstream chose.
        swr = defaults.stale_while_revalidate if explicit is None and not strict else 0
    sie = delta_seconds(directives.get("stale-if-error"))
    if sie is None:
        sie = 0 if strict else defaults.stale_if_error
    return Freshness(
        stored_at=response_time,
        initial_age=initial_age,
        lifetime=lifetime,
        stale_while_revalidate=float(swr),
        stale_if_error=float(sie),
        validatable=has_validator(headers),
    )


def conditional_headers(stored: httpx.Headers) -> list[tuple[str, str]]:
    """The headers that ask the upstream whether a stored response is still current."""
    found: list[tuple[str, str]] = []
    etag = stored.get("etag")
    if etag:
        found.append(("if-none-match", etag))
    modified = stored.get("last-modified")
    if modified:
        found.append(("if-modified-since", modified))
    return found


def merge_not_modified(stored: httpx.Headers, not_modified: httpx.Headers) -> httpx.Headers:
    """A stored response's headers updated by a ``304 Not Modified`` (RFC 9111 section 3.2).

    Header fields in the 304 replace the stored ones of the same name,
    except those that describe the stored body or the connection, and a
    cookie the 304 may set (a shared copy never carries one).
    """
    replaced = {name.lower() for name in not_modified} - _UNMERGED
    merged = [(k, v) for k, v in stored.multi_items() if k.lower() not in replaced]
    merged += [(k, v) for k, v in not_modified.multi_items() if k.lower() in replaced]
    return httpx.Headers(merged)


def varied_on(headers: httpx.Headers) -> tuple[str, ...]:
    """The request header names a response says it varies on, lower-case, sorted."""
    return tuple(sorted(set(_vary(headers))))
