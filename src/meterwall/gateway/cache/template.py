"""A prepared page, split at its banner and gate slots, rendered per reader without re-compressing.

Compressing a whole article page for every request costs milliseconds; the
reader-specific part (a banner line, a gate) is a few hundred bytes.  So
the static parts between the slots are deflated once, each ending on a
byte boundary with a full flush (which also resets the compressor's
history, so each part stands alone), and a request only deflates its own
banner and gate and splices the pieces into one valid gzip member.

The gzip trailer needs the CRC-32 of the whole page.  For a fixed part of
``n`` bytes, ``crc32(part, c)`` is ``M(c) ^ crc32(part, 0)`` with ``M`` a
linear map that depends only on ``n``, so ``M`` is tabulated once per
part (four tables of 256 entries, one per byte of ``c``) and a request
computes the CRC of the whole page in a few table look-ups plus the CRC
of its own small insertions.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache

from meterwall.gateway.cut import Prepared

_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_TRAILER = struct.Struct("<II")
_SLOTS = ("banner", "gate")
_STATIC_LEVEL = 6
_PERSONAL_LEVEL = 1


def _deflate(data: bytes, level: int, final: bool) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(
        zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH
    )


@lru_cache(maxsize=4096)
def _deflated_insertion(data: bytes) -> bytes:
    """An insertion deflated on its own; banners and gates repeat across readers (the same
    outcome and count give the same markup), so each is compressed once."""
    return _deflate(data, _PERSONAL_LEVEL, final=False)


@dataclass(frozen=True, slots=True)
class _Shift:
    """``crc32(part, c)`` for any ``c``, from tables: one fixed part's effect on a CRC."""

    tables: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]
    constant: int

    @classmethod
    def of(cls, part: bytes) -> _Shift:
        constant = zlib.crc32(part, 0)
        images = [zlib.crc32(part, 1 << bit) ^ constant for bit in range(32)]
        tables = []
        for byte in range(4):
            table = [0] * 256
            for value in range(1, 256):
                low = value & -value
                table[value] = table[value ^ low] ^ images[8 * byte + low.bit_length() - 1]
            tables.append(tuple(table))
        return cls((tables[0], tables[1], tables[2], tables[3]), constant)

    def apply(self, crc: int) -> int:
        t0, t1, t2, t3 = self.tables
        return (
            t0[crc & 0xFF]
            ^ t1[(crc >> 8) & 0xFF]
            ^ t2[(crc >> 16) & 0xFF]
            ^ t3[crc >> 24]
            ^ self.constant
        )


@dataclass(frozen=True, slots=True)
class _Gzipped:
    deflated: tuple[bytes, ...]
    first_crc: int
    shifts: tuple[_Shift, ...]


class Template:
    """One prepared outcome of one page, ready for per-reader rendering.

    ``parts`` are the UTF-8 bytes between the slots; ``slots`` name the slot
    that follows each part but the last.  Holds no reader data.
    """

    def __init__(self, prepared: Prepared) -> None:
        document = prepared.html
        found = sorted(
            (document.find(prepared.slot(name)), name)
            for name in _SLOTS
            if document.find(prepared.slot(name)) >= 0
        )
        parts: list[bytes] = []
        slots: list[str] = []
        start = 0
        for position, name in found:
            parts.append(document[start:position].encode("utf-8"))
            slots.append(name)
            start = position + len(prepared.slot(name))
        parts.append(document[start:].encode("utf-8"))
        self.parts = tuple(parts)
        self.slots = tuple(slots)
        self.full_text = prepared.full_text
        self._length = sum(len(p) for p in parts)
        self._gzipped: _Gzipped | None = None

    @property
    def size(self) -> int:
        """About how many bytes the template occupies."""
        compressed = sum(len(d) for d in self._gzipped.deflated) if self._gzipped else 0
        return self._length + compressed + 4096 * len(self.slots)

    def _insertions(self, banner: str, gate: str) -> list[bytes]:
        given = {"banner": banner, "gate": gate}
        return [given[name].encode("utf-8") for name in self.slots]

    def render(self, banner: str = "", gate: str = "") -> bytes:
        """The page for one reader, uncompressed."""
        pieces = [self.parts[0]]
        for insertion, part in zip(self._insertions(banner, gate), self.parts[1:], strict=True):
            pieces += [insertion, part]
        return b"".join(pieces)

    def _prepare_gzip(self) -> _Gzipped:
        if self._gzipped is None:
            last = len(self.parts) - 1
            self._gzipped = _Gzipped(
                deflated=tuple(
                    _deflate(part, _STATIC_LEVEL, final=i == last)
                    for i, part in enumerate(self.parts)
                ),
                first_crc=zlib.crc32(self.parts[0]),
                shifts=tuple(_Shift.of(part) for part in self.parts[1:]),
            )
        return self._gzipped

    def render_gzip(self, banner: str = "", gate: str = "") -> bytes:
        """The page for one reader as one gzip member, compressing only the insertions."""
        gz = self._prepare_gzip()
        pieces = [_HEADER, gz.deflated[0]]
        crc = gz.first_crc
        length = len(self.parts[0])
        for insertion, deflated, shift, part in zip(
            self._insertions(banner, gate), gz.deflated[1:], gz.shifts, self.parts[1:], strict=True
        ):
            if insertion:
                pieces.append(_deflated_insertion(insertion))
                crc = zlib.crc32(insertion, crc)
            pieces.append(deflated)
            crc = shift.apply(crc)
            length += len(insertion) + len(part)
        pieces.append(_TRAILER.pack(crc, length & 0xFFFFFFFF))
        return b"".join(pieces)
