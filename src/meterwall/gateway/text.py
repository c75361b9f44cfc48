"""Recognising gated text wherever it hides: fingerprints of the body and decoders.

A page can carry its body in many forms besides visible paragraphs: HTML
inside a JSON string, JSON inside a JavaScript string, entity-escaped,
``\\u``-escaped, percent-encoded or base64-encoded, or split into short runs
(rich text: Portable Text, Contentful, Slate, ProseMirror) that a script
joins back together.  A :class:`Fingerprint` holds hashed word shingles of
the text a gated reader must not receive; :meth:`Fingerprint.found_in`
decodes a candidate string every way a browser or a script could, and
reassembles the string values of JSON-like data in document order, before
looking for any of them.  :meth:`Fingerprint.carriers` says which of a
sequence of string values carry gated text, alone or joined to their
neighbours.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Iterable, Iterator, Sequence
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
_STRUCTURAL_KEYS = frozenset(
    {
        "type",
        "typename",
        "nodetype",
        "key",
        "id",
        "style",
        "marks",
        "markdefs",
        "listitem",
        "level",
        "format",
        "mode",
        "direction",
        "version",
        "detail",
        "indent",
        "href",
        "url",
        "uri",
        "src",
        "srcset",
        "slug",
        "ref",
        "class",
        "classname",
        "tag",
        "tagname",
        "component",
        "variant",
        "align",
        "target",
        "rel",
        "lang",
        "locale",
        "icon",
        "color",
    }
)
_IDENTIFIER = re.compile(r"[/:=#@{}<>\\|]|\d.*[^\W\d_]|[^\W\d_].*\d")
# Opening quotes and brackets, closing ones, inner joiners and sentence marks, as escapes
# (curly quotes, guillemets, ellipsis).
_OPEN = "\"'\u201c\u2018(\u00ab\u00bf\u00a1"
_CLOSE = "\"'\u201d\u2019)\u00bb"
MARKS = ".,;:!?\u2026"
"""Punctuation that ends or splits a sentence."""
# A word (inner apostrophes, dots, hyphens; a numbered name like COVID-19) or a number.
_WORDISH = re.compile(
    rf"[{_OPEN}]*(?:[^\W\d_]+(?:['\u2019.-][^\W\d_]+)*(?:-\d+)*|\d+(?:[.,:]\d+)*%?)"
    rf"[{_CLOSE}]*[{MARKS}]*[{_CLOSE}]*[{MARKS}]*"
)
_LETTER = re.compile(r"[^\W\d_]{2}|^[^\W\d_]\W*$")
RUN_BREAK = "\x1f"
"""Where two separate strings meet in :func:`join_runs` text (whitespace to ``str.split``)."""
_SPACE = re.compile(r"\s")
_BARE_WORD = re.compile(r"[A-Za-z_-]{1,24}")
# A double-quoted string, with the unquoted key before it (``{key: "value"``) when it
# has one; a string followed by a colon is itself a key (``"key": ...``).
_STRING = re.compile(
    r"(?:[{,]\s*(?P<key>[A-Za-z_$][\w$]{0,63})\s*:\s*\[?\s*)?"
    r'"(?P<value>(?:[^"\\]|\\.)*)"(?P<colon>\s*:)?',
    re.DOTALL,
)


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


def structural(key: str | None, value: str) -> bool:
    """Whether a string value is markup structure rather than text a reader sees.

    Rich-text formats interleave their text runs with type names, keys,
    mark names and link targets; those are skipped when runs are joined
    back into text, so that they do not break up the words around them.
    """
    if key is not None and key.casefold().lstrip("_@$") in _STRUCTURAL_KEYS:
        return True
    return _SPACE.search(value) is None and (len(value) > 40 or bool(_IDENTIFIER.search(value)))


def string_values(code: str, depth: int = 0) -> list[str]:
    """The text-carrying string values of JSON-like ``code``, in document order.

    Values are unescaped, and JSON inside a value is read the same way, in
    place.  Structural values (:func:`structural`) and bare single words
    outside any key (array members after the first, function arguments)
    are left out.  A linear scan with no parsing: it reads JSON, JavaScript
    object literals, and JSON in HTML attributes alike.
    """
    values: list[str] = []
    pending: str | None = None
    end = 0
    for match in _STRING.finditer(code):
        key, value, colon = match.group("key", "value", "colon")
        if colon:
            pending, end = value, match.end()
            continue
        if key is None and pending is not None and not code[end : match.start()].strip(" \t\n["):
            key = pending
        pending = None
        if not value:
            continue
        if "\\" in value:
            value = unescape_js(value)
        if "&" in value:
            value = html.unescape(value)
        head = value.lstrip()[:1]
        if head in ("{", "[") and '":' in value and depth < _MAX_DEPTH:
            values.extend(string_values(value, depth + 1))
        elif not structural(key, value) and (key is not None or not _BARE_WORD.fullmatch(value)):
            values.append(value)
    return values


def joined_values(code: str) -> str:
    """The string values of JSON-like ``code`` joined as a script would render them."""
    if '":' not in code and ':"' not in code and ': "' not in code and '="' not in code:
        return ""
    return "".join(string_values(code))


def prose_value(value: str) -> bool:
    """Whether a string can be (a run of) article text rather than code or data.

    Most of its whitespace-separated tokens must be words (letters, inner
    apostrophes or hyphens, surrounding punctuation): SVG path data, URLs,
    class lists with prefixes and numbers, code, CSS and base64 are not.
    """
    tokens = value.split()
    if not tokens:
        return False
    wordish = sum(1 for t in tokens if _WORDISH.fullmatch(t))
    lettered = sum(1 for t in tokens if _LETTER.search(t))
    # Numbers are words in a sentence, but a string of mostly numbers is data (SVG paths, ids).
    enough_letters = lettered * 5 >= len(tokens) * 3 if len(tokens) > 3 else lettered > 0
    return enough_letters and wordish * 5 >= len(tokens) * 4


def join_runs(values: Iterable[str]) -> str:
    """String values joined the way a script renders rich text: runs that meet at a space
    join; anything else (another field, a code-like value) is a break."""
    out: list[str] = []
    for value in values:
        if not prose_value(value):
            if out and out[-1] != RUN_BREAK:
                out.append(RUN_BREAK)
            continue
        if out and out[-1] != RUN_BREAK:
            previous = out[-1]
            soft = previous[-1:].isspace() or value[:1].isspace() or value[:1] in MARKS
            if not soft:
                out.append(RUN_BREAK)
        out.append(value)
    return "".join(out)


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
    if '"' in text or "&" in text:
        joined = joined_values(text if '"' in text else unescaped)
        if joined:
            yield strip_tags(html.unescape(strip_tags(joined)))
    if "%" in text and _PERCENT.search(text):
        yield strip_tags(html.unescape(unquote(unescaped)))
    if depth < _MAX_DEPTH:
        for decoded in _base64_texts(text):
            yield from readings(decoded, depth + 1)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What a gated reader must not receive, as hashed word shingles.

    ``shown`` holds the shingles of the teaser, so that a run of the teaser
    next to gated text is told apart from the gated text.
    """

    hashes: frozenset[int]
    shown: frozenset[int] = frozenset()

    @classmethod
    def of(cls, gated: Iterable[str], shown: Iterable[str] = ()) -> Fingerprint:
        """The fingerprint of the ``gated`` texts, less anything in the ``shown`` teaser."""
        secret: set[int] = set()
        for text in gated:
            for reading in readings(text):
                secret |= shingles(reading)
        teaser: set[int] = set()
        for text in shown:
            for reading in readings(text):
                teaser |= shingles(reading)
        return cls(frozenset(secret - teaser), frozenset(teaser))

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

    def carriers(self, values: Sequence[str], keys: Sequence[str | None] | None = None) -> set[int]:
        """The indexes of ``values`` (string values in document order) that carry gated text.

        A value carries gated text on its own (in any reading), or as part
        of a run of neighbouring values that together spell gated words, the
        way rich text splits a paragraph into runs of a few words (runs made
        only of teaser words stay).  Values a word is split across are joined
        without a space, as a script would join them; ``keys`` (the key each
        value belongs to) lets structural values (:func:`structural`) between
        the runs be skipped.  One linear pass.
        """
        found = {i for i, value in enumerate(values) if self.found_in(value)}
        texts = [
            i
            for i, value in enumerate(values)
            if not structural(keys[i] if keys is not None else None, value)
        ]
        tokens: list[str] = []
        owners: list[tuple[int, int]] = []
        glued = False
        for position, i in enumerate(texts):
            value = values[i]
            plain = strip_tags(html.unescape(value)) if ("<" in value or "&" in value) else value
            for n, match in enumerate(_WORD.finditer(plain.casefold())):
                if n == 0 and glued and match.start() == 0:
                    tokens[-1] += match.group()
                    owners[-1] = (owners[-1][0], position)
                else:
                    tokens.append(match.group())
                    owners.append((position, position))
            if plain:
                glued = (
                    bool(tokens)
                    and owners[-1][1] == position
                    and _WORD.match(plain[-1]) is not None
                )
        # Tokens inside a teaser shingle are the teaser's: a run made only of them stays,
        # even where a gated shingle straddles it and the gated text that follows.
        hits: list[int] = []
        teaser = [False] * len(tokens)
        for start in range(len(tokens) - SHINGLE + 1):
            key = hash(tuple(tokens[start : start + SHINGLE]))
            if key in self.hashes:
                hits.append(start)
            elif key in self.shown:
                teaser[start : start + SHINGLE] = [True] * SHINGLE
        gated_in: set[int] = set()
        for start in hits:
            for n in range(start, start + SHINGLE):
                if not teaser[n]:
                    gated_in.update(range(owners[n][0], owners[n][1] + 1))
        found.update(texts[position] for position in gated_in)
        return found

    def hits(self, text: str) -> int:
        """How many distinct gated shingles some reading of ``text`` holds."""
        if not self.hashes or not text:
            return 0
        found: set[int] = set()
        for reading in readings(text):
            found |= self.hashes & shingles(reading)
        return len(found)
