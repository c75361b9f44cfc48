"""Content encodings of pages meterwall reads and rewrites, bounded against decompression bombs."""

from __future__ import annotations

import gzip
import zlib


class TooLarge(Exception):
    """A body that would exceed the configured size once decoded."""


class UnknownEncoding(Exception):
    """A ``Content-Encoding`` meterwall cannot decode."""


def decompress(raw: bytes, encoding: str, limit: int) -> bytes:
    """Decode ``raw`` in ``encoding`` (gzip, deflate or identity), at most ``limit`` bytes out."""
    codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
    data = raw
    for coding in reversed(codings):
        if coding == "identity":
            continue
        if coding in ("gzip", "x-gzip"):
            data = _inflate(data, 16 + zlib.MAX_WBITS, limit)
        elif coding == "deflate":
            try:
                data = _inflate(data, zlib.MAX_WBITS, limit)
            except zlib.error:
                data = _inflate(data, -zlib.MAX_WBITS, limit)
        else:
            raise UnknownEncoding(coding)
    if len(data) > limit:
        raise TooLarge(f"more than {limit} bytes")
    return data


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    out = bytearray()
    while data:
        inflater = zlib.decompressobj(wbits)
        out += inflater.decompress(data, limit + 1 - len(out))
        if len(out) > limit or inflater.unconsumed_tail:
            raise TooLarge(f"more than {limit} bytes once decoded")
        data = inflater.unused_data if wbits > 16 else b""
    return bytes(out)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether a client's ``Accept-Encoding`` allows gzip."""
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def gzip_bytes(data: bytes) -> bytes:
    """``data`` gzip-compressed at a level suited to per-request work."""
    return gzip.compress(data, compresslevel=5, mtime=0)
