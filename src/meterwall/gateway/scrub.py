"""Removing gated text from everywhere besides the body: scripts, JSON, attributes, comments.

Each pass changes only what carries gated text (by :class:`Fingerprint`);
scripts and markup that carry none are left byte for byte as they were, so
pages keep working.  When a carrier cannot be cleaned precisely (a script
whose strings the lexer cannot follow), it is emptied: nothing leaks, at
worst one feature of the page stops working for a gated reader.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from meterwall.gateway.markup import load_json
from meterwall.gateway.text import Fingerprint, unescape_js
from meterwall.gateway.tree import RAW_TEXT, ancestors, set_text, text_of

JSON_TYPES = frozenset(
    {"application/json", "text/json", "application/ld+json", "importmap", "speculationrules"}
)
JS_TYPES = frozenset(
    {
        "",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "text/ecmascript",
        "application/ecmascript",
        "module",
        "text/babel",
        "text/jsx",
    }
)
_MIN_ATTRIBUTE = 24
_KEEP_ELEMENTS = frozenset({"html", "head", "body"})


def script_json(data: Any) -> str:
    """JSON safe inside a ``<script>`` element and a JavaScript string."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _looks_like_json(text: str) -> bool:
    stripped = text.strip()
    return len(stripped) > 1 and stripped[0] in "{[" and stripped[-1] in "}]"


def _json_leaves(value: Any, key: str | None, out: list[tuple[str | None, str]]) -> None:
    """Collect the string values of ``value`` in document order, with their keys.

    A list's members belong to the list's key (``"marks": ["strong"]``).
    """
    if isinstance(value, dict):
        for name, item in value.items():
            _json_leaves(item, name, out)
    elif isinstance(value, list):
        for item in value:
            _json_leaves(item, key, out)
    elif isinstance(value, str):
        out.append((key, value))


def _rebuild(value: Any, replace: dict[int, str], counter: list[int]) -> Any:
    """A copy of ``value`` with the ``n``-th string value replaced by ``replace[n]``."""
    if isinstance(value, dict):
        return {k: _rebuild(v, replace, counter) for k, v in value.items()}
    if isinstance(value, list):
        return [_rebuild(v, replace, counter) for v in value]
    if isinstance(value, str):
        index = counter[0]
        counter[0] += 1
        return replace.get(index, value)
    return value


def _clean_value(value: str, fingerprint: Fingerprint) -> str:
    """A gated string value emptied, or cleaned in place when it is JSON itself."""
    if _looks_like_json(value):
        inner = load_json(value)
        if inner is not None:
            cleaned = json.dumps(scrub_json(inner, fingerprint), ensure_ascii=False)
            if not fingerprint.found_in(cleaned):
                return cleaned
    return ""


def scrub_json(value: Any, fingerprint: Fingerprint) -> Any:
    """``value`` with every string carrying gated text emptied (JSON inside strings too).

    String values are read in document order, so rich text split into runs
    of a few words is recognised as the paragraph it spells; each run of it
    is emptied, while structure (types, keys, marks) stays.
    """
    leaves: list[tuple[str | None, str]] = []
    _json_leaves(value, None, leaves)
    if not leaves:
        return value
    carriers = fingerprint.carriers([v for _, v in leaves], [k for k, _ in leaves])
    if not carriers:
        return value
    replace = {i: _clean_value(leaves[i][1], fingerprint) for i in carriers}
    return _rebuild(value, replace, [0])


def _string_end(code: str, start: int) -> int:
    """The index of the quote closing the string literal opened at ``start`` (or the end)."""
    quote = code[start]
    i = start + 1
    depth = 0
    while i < len(code):
        char = code[i]
        if char == "\\":
            i += 2
            continue
        if quote == "`":
            if code.startswith("${", i):
                depth += 1
                i += 2
                continue
            if char == "}" and depth:
                depth -= 1
            elif char == "`" and not depth:
                return i
        elif char in (quote, "\n"):
            return i
        i += 1
    return len(code)


def _clean_literal(literal: str, quote: str, fingerprint: Fingerprint) -> str:
    """A replacement for a JavaScript string literal's content (quotes excluded)."""
    decoded = unescape_js(literal)
    if _looks_like_json(decoded):
        inner = load_json(decoded)
        if inner is not None:
            cleaned = script_json(scrub_json(inner, fingerprint))
            if not fingerprint.found_in(cleaned):
                encoded = json.dumps(cleaned, ensure_ascii=True)[1:-1]
                if quote == "'":
                    encoded = encoded.replace('\\"', '"').replace("'", "\\'")
                elif quote == "`":
                    encoded = encoded.replace('\\"', '"').replace("`", "\\`").replace("$", "\\$")
                return encoded
    return ""


def js_segments(code: str) -> Iterator[tuple[str, str]]:
    """Split JavaScript into ``("code" | "string" | "comment", text)`` segments.

    A string segment includes its quotes.  Regular-expression literals are
    not recognised, so a quote inside one may be misread; callers re-check
    what they produce and fail safe.
    """
    i = 0
    start = 0
    while i < len(code):
        char = code[i]
        if char in "'\"`":
            if start < i:
                yield "code", code[start:i]
            end = min(_string_end(code, i) + 1, len(code))
            yield "string", code[i:end]
            i = start = end
        elif code.startswith("//", i) or code.startswith("/*", i):
            if start < i:
                yield "code", code[start:i]
            close = "\n" if code[i + 1] == "/" else "*/"
            found = code.find(close, i + 2)
            end = len(code) if found < 0 else found + len(close)
            yield "comment", code[i:end]
            i = start = end
        else:
            i += 1
    if start < len(code):
        yield "code", code[start:]


def string_value(segment: str) -> str:
    """The content of a string segment, escapes undone."""
    closed = len(segment) > 1 and segment[-1] == segment[0]
    return unescape_js(segment[1:-1] if closed else segment[1:])


_OBJECT_KEY = re.compile(r"([A-Za-z_$][\w$]*)\s*:\s*\[?\s*$")


def _literal_keys(segments: list[tuple[str, str]]) -> list[str | None]:
    """For each segment, the object key a string literal is the value of, if any.

    A literal that is itself a key (``"text": ...``) gets the key ``"key"``,
    so that it counts as structure, not text.
    """
    keys: list[str | None] = []
    for i, (kind, _) in enumerate(segments):
        key: str | None = None
        following = segments[i + 1][1] if i + 1 < len(segments) else ""
        if kind == "string" and following.lstrip().startswith(":"):
            key = "key"
        elif kind == "string" and i:
            before = segments[i - 1][1]
            found = _OBJECT_KEY.search(before[-80:])
            if found:
                key = found.group(1)
            elif before.strip(" \t\n[") == ":" and i > 1 and segments[i - 2][0] == "string":
                key = string_value(segments[i - 2][1])
        keys.append(key)
    return keys


def scrub_js(code: str, fingerprint: Fingerprint) -> str:
    """JavaScript ``code`` with the string literals and comments that carry gated text emptied.

    String literals are read in order, so text split over many literals
    (rich text in a state object, function arguments) is recognised too.
    Code without gated text is returned unchanged.  If gated text remains
    (a shape the lexer cannot follow), the result is empty: the script is
    dropped rather than let it leak.
    """
    if not fingerprint.found_in(code):
        return code
    segments = list(js_segments(code))
    literals = [i for i, (kind, _) in enumerate(segments) if kind == "string"]
    keys = _literal_keys(segments)
    carriers = fingerprint.carriers(
        [string_value(segments[i][1]) for i in literals], [keys[i] for i in literals]
    )
    gated = {literals[n] for n in carriers}
    out: list[str] = []
    for i, (kind, segment) in enumerate(segments):
        if kind == "code" or (i not in gated and not fingerprint.found_in(segment)):
            out.append(segment)
        elif kind == "string":
            quote = segment[0]
            closed = len(segment) > 1 and segment[-1] == quote
            inner = segment[1:-1] if closed else segment[1:]
            out.append(quote + _clean_literal(inner, quote, fingerprint) + quote)
    cleaned = "".join(out)
    return "" if fingerprint.found_in(cleaned) else cleaned


def _script_kind(node: LexborNode) -> str:
    kind = (node.attributes.get("type") or "").split(";")[0].strip().casefold()
    if kind in JSON_TYPES or kind.endswith("+json") or node.attributes.get("id") == "__NEXT_DATA__":
        return "json"
    return "js" if kind in JS_TYPES else "other"


def scrub_scripts(tree: LexborHTMLParser, fingerprint: Fingerprint) -> None:
    """Clean every inline script: JSON by value, JavaScript by string literal, others whole."""
    for script in tree.css("script"):
        code = script.text(deep=True)
        if not fingerprint.found_in(code):
            continue
        kind = _script_kind(script)
        cleaned = ""
        if kind == "json":
            data = load_json(code)
            if data is not None:
                cleaned = script_json(scrub_json(data, fingerprint))
        elif kind == "js":
            cleaned = scrub_js(code, fingerprint)
        if fingerprint.found_in(cleaned):
            cleaned = ""
        set_text(script, cleaned)


def _scrub_templates(tree: LexborHTMLParser, fingerprint: Fingerprint) -> None:
    for fragment in tree.template_fragments():
        holder = fragment.parent
        if holder is not None and fingerprint.found_in(fragment.html or ""):
            holder.decompose()


def _scrub_raw_text(tree: LexborHTMLParser, fingerprint: Fingerprint, headline: str) -> None:
    for tag in ("noscript", "textarea", "xmp", "style", "title"):
        for node in tree.css(tag):
            if not fingerprint.found_in(node.text(deep=True)):
                continue
            if tag == "title":
                set_text(node, headline)
            else:
                node.decompose()


def _scrub_comments_and_attributes(
    root: LexborNode, fingerprint: Fingerprint, summary: str
) -> None:
    comments: list[LexborNode] = []
    for node in root.traverse(include_text=True):
        if node.is_comment_node:
            if fingerprint.found_in(node.comment_content or ""):
                comments.append(node)
            continue
        if not node.is_element_node:
            continue
        for name, value in list(node.attributes.items()):
            if value is None or len(value) < _MIN_ATTRIBUTE or not fingerprint.found_in(value):
                continue
            data = load_json(value) if _looks_like_json(value) else None
            if node.tag == "meta" and name == "content":
                node.attrs[name] = summary
            elif data is not None:
                node.attrs[name] = json.dumps(scrub_json(data, fingerprint), ensure_ascii=False)
            else:
                del node.attrs[name]
    for comment in comments:
        comment.decompose()


def _scrub_elements(root: LexborNode, fingerprint: Fingerprint) -> None:
    """Remove the smallest elements (or text) whose rendered text carries gated text."""
    for node in list(root.traverse(include_text=True)):
        if (
            node.is_text_node
            and fingerprint.found_in(node.text_content or "")
            and not any(a.tag in RAW_TEXT for a in ancestors(node))
        ):
            node.replace_with("")
    if not fingerprint.found_in(text_of(root)):
        return
    for node in reversed(list(root.traverse())):
        if node.tag in _KEEP_ELEMENTS or node.tag in RAW_TEXT:
            continue
        if fingerprint.found_in(text_of(node)):
            node.decompose()


def scrub_tree(
    tree: LexborHTMLParser, fingerprint: Fingerprint, headline: str, summary: str = ""
) -> None:
    """Remove gated text from every carrier in the document, least destructive pass first.

    ``summary`` (the lede, shortened) replaces a ``<meta>`` description that
    carries gated text; ``headline`` replaces such a ``<title>``.
    """
    root = tree.root
    if root is None or not fingerprint:
        return
    scrub_scripts(tree, fingerprint)
    _scrub_templates(tree, fingerprint)
    _scrub_raw_text(tree, fingerprint, headline)
    _scrub_comments_and_attributes(root, fingerprint, summary or headline)
    _scrub_elements(root, fingerprint)
