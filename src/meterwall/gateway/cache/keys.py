"""Which requests the cache may answer, under which key, and what a purge names.

A request is answered from the shared cache only if nothing in it can make
the upstream personalise the page: no ``Authorization`` header and no
cookie except meterwall's own (already removed before this point) and the
configured analytics cookies.  Query parameters that never change a page
(``utm_*``, click ids, meterwall's own ``gift``) are left out of the key and
of the request that fills the entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import unquote_plus, urlsplit

from meterwall.gateway.cache.config import CacheSettings
from meterwall.gateway.cache.entry import CacheKey

_NOT_FORWARDED_ON_FILL = frozenset(
    {
        "cookie",
        "authorization",
        "range",
        "if-range",
        "if-none-match",
        "if-modified-since",
        "if-match",
        "if-unmodified-since",
        "cache-control",
        "pragma",
    }
)


def _compiled(patterns: Iterable[str]) -> re.Pattern[str] | None:
    joined = "|".join(f"(?:{p})" for p in patterns)
    return re.compile(joined) if joined else None


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in headers if k.lower() == name]
    return ", ".join(values) if values else None


def _normal(value: str | None) -> str:
    return " ".join((value or "").split())


class KeyRules:
    """Keys and fill requests for the cache, from its settings."""

    def __init__(self, settings: CacheSettings) -> None:
        self._params = _compiled(settings.ignored_params)
        self._cookies = _compiled(settings.ignored_cookies)
        self._vary = tuple(settings.vary)
        self._read = frozenset({"authorization", "cookie", "accept-encoding", *self._vary})

    def _found(self, headers: Sequence[tuple[str, str]]) -> dict[str, str]:
        """The values of the headers a key reads, joined as :func:`_header` joins them,
        in one pass over ``headers``."""
        found: dict[str, str] = {}
        read = self._read
        for name, value in headers:
            lower = name.lower()
            if lower in read:
                found[lower] = f"{found[lower]}, {value}" if lower in found else value
        return found

    def cacheable(self, headers: Sequence[tuple[str, str]]) -> bool:
        """Whether a request with these (upstream-bound) headers may share a cached page."""
        return self._cacheable(self._found(headers))

    def _cacheable(self, found: dict[str, str]) -> bool:
        if "authorization" in found:
            return False
        cookie = found.get("cookie")
        if not cookie:
            return True
        for part in cookie.replace(",", ";").split(";"):
            name = part.split("=", 1)[0].strip()
            if name and (self._cookies is None or not self._cookies.search(name)):
                return False
        return True

    def target(self, target: str) -> str:
        """``target`` (path and query) without the query parameters that never change a page."""
        path, _, query = target.partition("?")
        if not query or self._params is None:
            return target
        kept = [
            pair
            for pair in query.split("&")
            if pair and not self._params.search(unquote_plus(pair.split("=", 1)[0]))
        ]
        return path + ("?" + "&".join(kept) if kept else "")

    def key(self, target: str, headers: Sequence[tuple[str, str]]) -> CacheKey | None:
        """The key of a request for ``target``; ``None`` if it must not use the cache."""
        found = self._found(headers)
        if not self._cacheable(found):
            return None
        canonical = self.target(target)
        path, _, query = canonical.partition("?")
        parts = [query, _normal(found.get("accept-encoding") or "identity")]
        parts += [_normal(found.get(name)) for name in self._vary]
        return CacheKey(group=path, variant="\n".join(parts), target=canonical)

    def fill_headers(self, headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """The headers of the request that fills an entry: the reader's, minus anything
        personal or conditional (the entry is for every reader)."""
        return [(k, v) for k, v in headers if k.lower() not in _NOT_FORWARDED_ON_FILL]

    def varied(
        self, names: Sequence[str], headers: Sequence[tuple[str, str]]
    ) -> tuple[tuple[str, str], ...]:
        """The values of the request headers ``names`` (cookies count as none: a shared
        request carries only cookies that never change the page)."""
        return tuple(
            (name, "" if name == "cookie" else _normal(_header(headers, name))) for name in names
        )


def purge_paths(url: str, origins: Iterable[str]) -> list[str]:
    """The cache groups a purge of ``url`` (a path, or a URL on one of ``origins``) names.

    Both spellings of a trailing slash are named, since upstreams often
    serve (or redirect) both.  Raises :class:`ValueError` for a URL on
    another site.
    """
    text = url.strip()
    if not text:
        raise ValueError("an empty URL")
    if not text.startswith("/"):
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{url!r} is neither a path nor an http(s) URL")
        hosts = {urlsplit(o).netloc.lower() for o in origins if o}
        if parts.netloc.lower() not in hosts:
            raise ValueError(f"{url!r} is not on this site ({', '.join(sorted(hosts))})")
        text = parts.path or "/"
    path = text.split("?", 1)[0].split("#", 1)[0] or "/"
    if path == "/":
        return ["/"]
    bare = path.rstrip("/")
    return [bare, bare + "/"]
