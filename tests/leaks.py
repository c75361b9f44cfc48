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
