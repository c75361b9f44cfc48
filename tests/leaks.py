"""Leak assertions: gated text must not appear anywhere in a response."""

from __future__ import annotations

import base64
import html
import json
import re
from urllib.parse import quote

import httpx

from meterwall.content.model import Article
from tests.factories import gated_fragments


def _forms(fragment: str) -> list[str]:
    """The ways a fragment could be smuggled: as is, escaped, encoded."""
    b64 = base64.b64encode(fragment.encode()).decode()
    return [
        fragment,
        html.escape(fragment),
        json.dumps(fragment)[1:-1],
        quote(fragment),
        b64[: max(len(b64) - 4, 8)],
    ]


def assert_no_leak(response: httpx.Response, article: Article) -> None:
    """Fail if any gated fragment of ``article`` is anywhere in the response."""
    raw = response.content.decode("utf-8", "replace")
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    haystack = raw + "\n" + html.unescape(raw) + "\n" + headers
    for fragment in gated_fragments(article):
        # The distinctive marker alone is enough to catch a partial leak.
        markers = re.findall(r"(?:SECRET|SUBHEAD|QUOTE|CAPTION)-\d+(?:-\w+)?", fragment)
        for text in [fragment, *markers]:
            for form in _forms(text):
                assert form not in haystack, f"gated text leaked: {text!r} (as {form!r})"


def assert_full_text(response: httpx.Response, article: Article) -> None:
    """Fail unless every body fragment of ``article`` is in the response."""
    text = html.unescape(response.text)
    for fragment in gated_fragments(article):
        assert fragment in text, f"missing body text {fragment!r}"


_WORDS = re.compile(r"\w+")
_TAGS = re.compile(r"<[^<>]*>")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"(\s*:)?', re.DOTALL)


def _trigrams(text: str, n: int) -> set[tuple[str, ...]]:
    tokens = _WORDS.findall(_TAGS.sub(" ", text).casefold())
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def _string_values(text: str, vocabulary: set[str], depth: int = 0) -> list[str]:
    """Quoted string values in order (keys and non-text tokens left out), JSON in them too."""
    values: list[str] = []
    for match in _QUOTED.finditer(text):
        if match.group(2):
            continue
        try:
            value = json.loads(f'"{match.group(1)}"')
        except ValueError:
            value = match.group(1)
        if '"' in value and depth < 3:
            values.extend(_string_values(value, vocabulary, depth + 1))
        elif any(c.isspace() for c in value) or set(_WORDS.findall(value.casefold())) <= vocabulary:
            values.append(html.unescape(value))
    return values


def recoverable_runs(raw: bytes | str, gated: list[str], shown: list[str], n: int = 3) -> list[str]:
    """Runs of ``n`` consecutive words of the ``gated`` texts a reader can rebuild from ``raw``.

    Every reading of the response is searched (escaped, entity-encoded,
    base64), as text and with its quoted string values joined in document
    order, the way a script rebuilds rich text split into short runs.  Runs
    that the ``shown`` texts (headline, lede) contain are allowed.
    """
    from tests.fixtures.upstream.harness import readings

    wanted: set[tuple[str, ...]] = set()
    for text in gated:
        wanted |= _trigrams(text, n)
    for text in shown:
        wanted -= _trigrams(text, n)
    vocabulary = {word for run in wanted for word in run}
    found: set[tuple[str, ...]] = set()
    for form in readings(raw):
        found |= _trigrams(form, n) & wanted
        found |= _trigrams("".join(_string_values(form, vocabulary)), n) & wanted
    return sorted(" ".join(run) for run in found)
