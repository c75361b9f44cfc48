"""What the cache keeps: one upstream response under one key, and how it is stored as bytes."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, replace

import httpx

from meterwall.gateway.cache.freshness import Freshness

_MAGIC = b"MWC1"
_LENGTH = struct.Struct(">I")
_OVERHEAD = 256


@dataclass(frozen=True, slots=True)
class CacheKey:
    """Where a response is kept.

    ``group`` is the URL path (what a purge names: every variant of the path
    goes at once); ``variant`` the remaining query, the ``Accept-Encoding``
    sent upstream and the configured ``Vary`` headers' values; ``target`` the
    path and query that is requested from the upstream to fill the entry.
    """

    group: str
    variant: str
    target: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One un-personalised upstream response, as received (body still content-encoded).

    ``version`` names this copy of the upstream page: it changes whenever a
    new body is stored and survives a ``304`` revalidation, so work derived
    from the body (parsing, cutting) can be remembered per version.
    ``vary`` holds the request header values the response said it varies on.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    freshness: Freshness
    version: str
    vary: tuple[tuple[str, str], ...] = ()

    @property
    def size(self) -> int:
        """Approximately how many bytes the entry occupies."""
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + _OVERHEAD

    def http_headers(self) -> httpx.Headers:
        """The stored response headers."""
        return httpx.Headers(list(self.headers))

    def updated(self, headers: httpx.Headers, freshness: Freshness) -> Entry:
        """This copy after a ``304``: new headers and freshness, the same body and version."""
        return replace(self, headers=tuple(headers.multi_items()), freshness=freshness)

    def to_bytes(self) -> bytes:
        """The entry as bytes, for a shared store."""
        f = self.freshness
        meta = {
            "s": self.status,
            "h": [list(pair) for pair in self.headers],
            "f": [
                f.stored_at,
                f.initial_age,
                f.lifetime,
                f.stale_while_revalidate,
                f.stale_if_error,
                f.validatable,
            ],
            "v": self.version,
            "y": [list(pair) for pair in self.vary],
        }
        encoded = json.dumps(meta, separators=(",", ":")).encode("utf-8")
        return _MAGIC + _LENGTH.pack(len(encoded)) + encoded + self.body

    @classmethod
    def from_bytes(cls, data: bytes) -> Entry | None:
        """An entry read back from :meth:`to_bytes`; ``None`` if the bytes are not one."""
        if not data.startswith(_MAGIC) or len(data) < len(_MAGIC) + _LENGTH.size:
            return None
        start = len(_MAGIC) + _LENGTH.size
        (length,) = _LENGTH.unpack_from(data, len(_MAGIC))
        try:
            meta = json.loads(data[start : start + length])
            stored_at, initial_age, lifetime, swr, sie, validatable = meta["f"]
            return cls(
                status=int(meta["s"]),
                headers=tuple((str(k), str(v)) for k, v in meta["h"]),
                body=data[start + length :],
                freshness=Freshness(
                    stored_at=float(stored_at),
                    initial_age=float(initial_age),
                    lifetime=float(lifetime),
                    stale_while_revalidate=float(swr),
                    stale_if_error=float(sie),
                    validatable=bool(validatable),
                ),
                version=str(meta["v"]),
                vary=tuple((str(k), str(v)) for k, v in meta["y"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
