"""Recognising gated text wherever it hides: fingerprints of the body and decoders.

A page can carry its body in many forms besides visible paragraphs: HTML
inside a JSON string, JSON inside a JavaScript string, entity-escaped,
``\\u``-escaped, percent-encoded or base64-encoded.  A :class:`Fingerprint`
holds hashed word shingles of the text a gated reader must not receive, and
:meth:`Fingerprint.found_in` decodes a candidate string every way a browser
or a script could before looking for any of them.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote

SHINGLE = 5
"""Words per shingle: long enough to be specific to one article, short enough
that a short paragraph still yields one."""

_WORD = re.compile(r"\w+", re.UNICODE)
_TAG = re.compile(r"<[^<>]{0,2000}>")
_JS_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]{1,6}\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[^ux])")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": " ", "f": " ", "v": " ", "0": " "}
_MAX_DEPTH = 3


def words(text: str) -> list[str]:
    """The words of ``text``, case-folded, without punctuation."""
    return _WORD.findall(text.casefold())


def word_count(text: str) -> int:
    """How many words ``text`` has."""
    return sum(1 for _ in _WORD.finditer(text))


def shingles(text: str) -> set[int]:
    """Hashes of every run of :data:`SHINGLE` consecutive words in ``text``.

    Text shorter than a shingle yields one hash of all its words (if it has
    at least two), so a short gated sentence is still recognised on its own.
    """
    tokens = words(text)
    if len(tokens) < SHINGLE:
        return {hash(tuple(tokens))} if len(tokens) >= 2 else set()
    return {hash(tuple(tokens[i : i + SHINGLE])) for i in range(len(tokens) - SHINGLE + 1)}


def _unescape_js(match: re.Match[str]) -> str:
    code = match.group(1)
    try:
        if code.startswith("u{"):
            return chr(int(code[2:-1], 16))
        if code[0] in "ux" and len(code) > 1:
            return chr(int(code[1:], 16))
    except (ValueError, OverflowError):
        return " "
    return _SIMPLE_ESCAPES.get(code, code)


def unescape_js(text: str) -> str:
    """Undo JavaScript and JSON string escapes (``\\u003c``, ``\\n``, ``\\/``)."""
    return _JS_ESCAPE.sub(_unescape_js, text) if "\\" in text else text


def strip_tags(text: str) -> str:
    """Replace anything that looks like an HTML tag with a space.

    Used only to read text for fingerprinting, never to change a page.
    """
    return _TAG.sub(" ", text) if "<" in text else text


def _base64_texts(text: str) -> Iterator[str]:
    for run in _BASE64_RUN.findall(text):
        padded = run + "=" * (-len(run) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                raw = decode(padded)
            except (binascii.Error, ValueError):
                continue
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                continue
            break


def readings(text: str, depth: int = 0) -> Iterator[str]:
    """Every plausible plain-text reading of ``text``.

    The text as it is, with JavaScript/JSON escapes undone, with HTML
    entities undone, with tags removed, percent-decoded, and each
    base64-looking run decoded (recursively, a few levels deep).
    """
    unescaped = html.unescape(unescape_js(text))
    yield strip_tags(html.unescape(strip_tags(unescaped)))
    if "%" in text and _PERCENT.search(text):
        yield strip_tags(html.unescape(unquote(unescaped)))
    if depth < _MAX_DEPTH:
        for decoded in _base64_texts(text):
            yield from readings(decoded, depth + 1)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What a gated reader must not receive, as hashed word shingles."""

    hashes: frozenset[int]

    @classmethod
    def of(cls, gated: Iterable[str], shown: Iterable[str] = ()) -> Fingerprint:
        """The fingerprint of the ``gated`` texts, less anything in the ``shown`` teaser."""
        secret: set[int] = set()
        for text in gated:
            for reading in readings(text):
                secret |= shingles(reading)
        for text in shown:
            for reading in readings(text):
                secret -= shingles(reading)
        return cls(frozenset(secret))

    def __bool__(self) -> bool:
        return bool(self.hashes)

    def matches(self, text: str) -> bool:
        """Whether plain ``text`` (no decoding) holds any gated shingle."""
        return bool(self.hashes) and not self.hashes.isdisjoint(shingles(text))

    def found_in(self, text: str) -> bool:
        """Whether any reading of ``text`` (escaped, encoded, marked up) holds gated text."""
        if not self.hashes or not text:
            return False
        return any(self.matches(reading) for reading in readings(text))

    def hits(self, text: str) -> int:
        """How many distinct gated shingles some reading of ``text`` holds."""
        if not self.hashes or not text:
            return 0
        found: set[int] = set()
        for reading in readings(text):
            found |= self.hashes & shingles(reading)
        return len(found)
