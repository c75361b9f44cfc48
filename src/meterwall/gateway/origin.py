"""The upstream's own address, replaced by the public one in everything readers get.

A CMS that knows itself by the address meterwall reaches it at
(``proxy.upstream``, e.g. ``http://127.0.0.1:8080``) writes that address into
canonical links, ``og:url``, JSON-LD, feed links, hydration state and ``Link``
headers (WordPress advertises each post's REST URL in one).  :class:`Origin`
replaces it, in its plain, JSON-escaped (``http:\\/\\/``) and percent-encoded
(``http%3A%2F%2F``) spellings, with or without ``www.`` and in either scheme,
by ``public_url`` in the same spelling.  An address that merely starts with
the upstream's (``http://127.0.0.1:80801``, ``http://cms.internal.example``)
is left alone.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote, urlsplit

# What may not follow an origin for it to be the whole origin: more host name or a port.
_END = r"(?![\w.-]|:\d|%3A\d)"


def _spellings(origin: str) -> tuple[str, str, str]:
    """``origin`` plain, JSON-escaped and percent-encoded."""
    return origin, origin.replace("/", "\\/"), quote(origin, safe="")


class Origin:
    """Replaces the upstream's origin by the public URL in text, bytes and headers."""

    def __init__(self, upstream: str, public: str) -> None:
        parts = urlsplit(upstream)
        self.host = parts.hostname or ""
        self.enabled = bool(self.host) and upstream.rstrip("/") != public.rstrip("/")
        netlocs = [parts.netloc, "www." + parts.netloc]
        origins = [f"{scheme}://{netloc}" for scheme in ("http", "https") for netloc in netlocs]
        found: list[str] = []
        self._replacements: list[str] = []
        for origin in origins:
            for spelling, replacement in zip(
                _spellings(origin), _spellings(public.rstrip("/")), strict=True
            ):
                found.append(f"({re.escape(spelling)}){_END}")
                self._replacements.append(replacement)
        self._text = re.compile("|".join(found), re.IGNORECASE)
        self._bytes = re.compile("|".join(found).encode("ascii"), re.IGNORECASE)
        # Bodies can be large: only one that names the host (as markup does, in
        # lower case) is searched.
        self._host_bytes = self.host.encode("ascii", "ignore").lower()

    def _replace(self, match: re.Match[str]) -> str:
        return self._replacements[(match.lastindex or 1) - 1]

    def _replace_bytes(self, match: re.Match[bytes]) -> bytes:
        return self._replacements[(match.lastindex or 1) - 1].encode("ascii")

    def text(self, value: str) -> str:
        """``value`` with every spelling of the upstream's origin made public."""
        if not self.enabled or self.host.lower() not in value.lower():
            return value
        return self._text.sub(self._replace, value)

    def body(self, value: bytes) -> bytes:
        """:meth:`text` for a body in any ASCII-compatible encoding."""
        if not self.enabled or self._host_bytes not in value:
            return value
        return self._bytes.sub(self._replace_bytes, value)


@lru_cache(maxsize=8)
def rewriter(upstream: str, public: str) -> Origin:
    """The (shared) :class:`Origin` for an upstream and public URL."""
    return Origin(upstream, public)
