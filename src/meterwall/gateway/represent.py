"""Cut phase for representations other than HTML pages and feeds.

Two cases, for a reader who is not entitled:

* the representation of one article (:func:`cut_article`): the article's
  :class:`~meterwall.gateway.text.Fingerprint` says what is gated; JSON has
  its body fields cut to the lede and every other string carrying gated
  text emptied, plain text keeps its paragraphs up to the first gated one,
  a fragment loses every element carrying gated text;
* a representation that stands for no one article, such as a content API
  listing posts (:func:`cut_listing`): only the shapes known here are cut
  (WordPress REST ``content``, Ghost ``html``/``plaintext``, Drupal JSON:API
  ``body``, Next.js ``pageProps``), to the lede of each post.

Anything else (RSC flight payloads, unknown shapes, a document still
carrying prose once cut) has no cutter: the answer is ``None`` and the
proxy refuses it.  The verify phase checks every cut before it is sent.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meterwall.gateway.classify import PROSE_WORDS, Kind, json_leaves, load, prose_words
from meterwall.gateway.config import PageRules
from meterwall.gateway.feeds import lede_of
from meterwall.gateway.scrub import scrub_json, scrub_tree
from meterwall.gateway.text import Fingerprint, word_count
from meterwall.gateway.tree import parse

_BODY_FIELDS = frozenset({"html", "plaintext", "value", "processed", "rendered", "raw"})
_DOCUMENT_FIELDS = frozenset({"mobiledoc", "lexical"})
_FEW_WORDS = 3
_GHOST_MARKS = frozenset({"slug", "uuid", "title", "url", "id"})


@dataclass(frozen=True, slots=True)
class Cut:
    """A representation cut for a reader who is not entitled, and what was cut out of it."""

    body: bytes
    fingerprint: Fingerprint


class _Cutter:
    """Cuts body fields to their lede, remembering what it removed and what it kept."""

    def __init__(self, rules: PageRules) -> None:
        self.rules = rules
        self.removed: list[str] = []
        self.kept: list[str] = []
        self.ledes: set[str] = set()

    def lede(self, value: str) -> str:
        paragraphs = lede_of(value, self.rules.lede_paragraphs, self.rules.lede_words)
        self.removed.append(value)
        self.kept.extend(paragraphs)
        if "<" in value:
            lede = "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs)
        else:
            lede = "\n\n".join(paragraphs)
        # What the reader may see, in every form a post's other fields repeat it in
        # (an excerpt that is the lede as plain text is not gated text left over).
        self.ledes.update((lede, "\n\n".join(paragraphs), *(p.strip() for p in paragraphs)))
        return lede

    def drop(self, value: str) -> str:
        self.removed.append(value)
        return ""


def _wordpress(node: dict[str, Any], cutter: _Cutter) -> bool:
    """WordPress REST: ``content: {rendered, raw}`` (excerpts go when they repeat the body)."""
    content = node.get("content")
    if not isinstance(content, dict) or not isinstance(content.get("rendered"), str):
        return False
    for key in ("rendered", "raw"):
        if isinstance(content.get(key), str):
            content[key] = cutter.lede(content[key])
    return True


def _ghost(node: dict[str, Any], cutter: _Cutter) -> bool:
    """Ghost Content API: ``html``, ``plaintext`` and the editor documents of a post."""
    if not any(isinstance(node.get(k), str) for k in ("html", "plaintext")):
        return False
    if _GHOST_MARKS.isdisjoint(node):
        return False
    for key in ("html", "plaintext"):
        if isinstance(node.get(key), str):
            node[key] = cutter.lede(node[key])
    for key in _DOCUMENT_FIELDS & node.keys():
        if isinstance(node[key], str):
            node[key] = cutter.drop(node[key])
    return True


def _jsonapi(node: dict[str, Any], cutter: _Cutter) -> bool:
    """Drupal JSON:API: ``attributes.body`` as ``{value, processed, summary}``."""
    body = node.get("body")
    if not isinstance(body, dict) or not any(k in body for k in ("value", "processed")):
        return False
    for key in ("value", "processed"):
        if isinstance(body.get(key), str):
            body[key] = cutter.lede(body[key])
    return True


def _next_props(props: Any, cutter: _Cutter) -> Any:
    """Next.js ``pageProps``: the first prose string keeps its lede; after it, every string
    of a few words goes (paragraphs, subheads, quotes of a body split into elements)."""
    first = True

    def walk(value: Any) -> Any:
        nonlocal first
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if not isinstance(value, str):
            return value
        if first and prose_words([value]) > 0:
            first = False
            return cutter.lede(value)
        if not first and word_count(value) >= _FEW_WORDS:
            return cutter.drop(value)
        return value

    return walk(props)


_SHAPES: tuple[Callable[[dict[str, Any], _Cutter], bool], ...] = (_wordpress, _ghost, _jsonapi)


def _cut_shapes(data: Any, cutter: _Cutter) -> tuple[Any, bool]:
    """``data`` with every known body field cut; whether any shape was known."""
    known = False

    def walk(value: Any) -> Any:
        nonlocal known
        if isinstance(value, list):
            return [walk(v) for v in value]
        if not isinstance(value, dict):
            return value
        for shape in _SHAPES:
            if shape(value, cutter):
                known = True
        for key, item in value.items():
            if key == "pageProps":
                known = True
                value[key] = _next_props(item, cutter)
            elif key not in _BODY_FIELDS:
                value[key] = walk(item)
        return value

    return walk(data), known


def _dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def describes_an_api(kind: Kind, text: str) -> bool:
    """Whether a JSON answer is an API's description of itself (WordPress's REST index at
    ``/wp-json/``, an OpenAPI document): route and parameter descriptions, never posts."""
    if kind != "json" or len(text) > 16 * 1024 * 1024:
        return False
    data = load(text)
    if not isinstance(data, dict):
        return False
    wordpress_index = isinstance(data.get("namespaces"), list) and isinstance(
        data.get("routes"), dict
    )
    openapi = isinstance(data.get("paths"), dict) and ("openapi" in data or "swagger" in data)
    return wordpress_index or openapi


def cut_listing(kind: Kind, text: str, rules: PageRules) -> Cut | None:
    """A representation of no one article, cut to the lede of each post it carries;
    ``None`` when its shape is unknown or prose is left once cut (refuse it)."""
    data = load(text) if kind == "json" else None
    if data is None:
        return None
    cutter = _Cutter(rules)
    data, known = _cut_shapes(data, cutter)
    if not known or not cutter.removed:
        return None
    fingerprint = Fingerprint.of(cutter.removed, cutter.kept)
    data = scrub_json(data, fingerprint)
    left = [v for v in json_leaves(data) if v not in cutter.ledes and v.strip()]
    if prose_words(left) >= PROSE_WORDS:
        return None
    return Cut(_dumps(data), fingerprint)


def cut_article(kind: Kind, text: str, fingerprint: Fingerprint, rules: PageRules) -> bytes | None:
    """One article's representation cut to what a gated reader may see (``fingerprint``
    is its gated text); ``None`` when there is no cutter for it (refuse it)."""
    if not fingerprint:
        return None
    if kind == "json":
        data = load(text)
        if data is None:
            return None
        data, _ = _cut_shapes(data, _Cutter(rules))
        return _dumps(scrub_json(data, fingerprint))
    if kind == "text":
        paragraphs = text.split("\n\n")
        kept: list[str] = []
        for paragraph in paragraphs:
            if fingerprint.found_in(paragraph):
                break
            kept.append(paragraph)
        return "\n\n".join(kept).encode("utf-8")
    if kind == "fragment":
        tree = parse(f"<!DOCTYPE html><html><body>{text}</body></html>")
        scrub_tree(tree, fingerprint, "")
        body = tree.body
        return (body.inner_html or "").encode("utf-8") if body is not None else None
    return None
