"""Markdown articles: YAML front matter, then a body of paragraphs, subheads, quotes, images.

The body's Markdown maps onto article blocks like this:

* a paragraph is a ``paragraph`` (inline formatting and links are kept as plain text);
* ``## Subhead`` (any heading level) is a ``subhead``; a leading ``# Headline``
  supplies the headline when the front matter has none;
* ``> quote`` is a ``quote``, and a last line starting with a dash
  (``> — Name, title``) is its attribution;
* ``![caption](url "credit")`` standing alone is an ``image``;
* list items become paragraphs of their own, and code blocks paragraphs of
  their text.
"""

from __future__ import annotations

from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token

from meterwall.content.importers.fields import build_article, check_image_url, clean
from meterwall.content.importers.frontmatter import Document, split
from meterwall.content.model import Article, Block, Image

ATTRIBUTION_DASHES = ("\u2014", "\u2013", "\u2015", "--")
"""How an attribution line under a quote starts: em dash, en dash, bar or two hyphens."""

_BREAKS = ("softbreak", "hardbreak")


def _parser() -> MarkdownIt:
    # Raw HTML stays literal text: article bodies are stored as plain text blocks.
    return MarkdownIt("commonmark", {"html": False})


def parse_markdown(text: str, timezone: str = "UTC") -> Article:
    """The article in a Markdown file's ``text``; naive dates are in ``timezone``.

    Raises :class:`ImportProblem` naming the line of the first problem.
    """
    doc = split(text.replace("\r\n", "\n").replace("\r", "\n"))
    blocks, heading = body_blocks(doc.body, doc.body_line)
    if heading and not doc.values.get("headline") and not doc.values.get("title"):
        doc = Document(
            values={**doc.values, "headline": heading},
            lines={**doc.lines, "headline": doc.body_line},
            body=doc.body,
            body_line=doc.body_line,
        )
    elif heading:
        given = doc.values.get("headline") or doc.values.get("title")
        if not isinstance(given, str) or clean(given) != heading:
            blocks.insert(0, Block("subhead", heading))
    return build_article(doc, blocks, timezone)


def body_blocks(body: str, first_line: int = 1) -> tuple[list[Block], str]:
    """The blocks of a Markdown body, and the text of a leading ``# Headline`` (or ``""``).

    ``first_line`` is the file line the body starts on, for problem reports.
    """
    tokens = _parser().parse(body)
    walker = _Walker(tokens, first_line)
    walker.walk()
    return walker.blocks, walker.heading


class _Walker:
    """One pass over markdown-it's token stream, collecting blocks."""

    def __init__(self, tokens: Sequence[Token], first_line: int) -> None:
        self.tokens = tokens
        self.first_line = first_line
        self.blocks: list[Block] = []
        self.heading = ""
        self.lists: list[list[int]] = []
        self.marker = ""

    def line(self, token: Token) -> int:
        return self.first_line + (token.map[0] if token.map else 0)

    def walk(self) -> None:
        index = 0
        while index < len(self.tokens):
            index = self.step(index)

    def step(self, index: int) -> int:
        token = self.tokens[index]
        kind = token.type
        if kind == "heading_open":
            self.add_heading(token, self.tokens[index + 1])
            return index + 3
        if kind == "blockquote_open":
            return self.add_quote(index)
        if kind in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrs.get("start", 1) or 1) if kind == "ordered_list_open" else 0
            self.lists.append([start])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self.lists.pop()
        elif kind == "list_item_open" and self.lists:
            counter = self.lists[-1]
            self.marker = f"{counter[0]}. " if counter[0] else "\u2022 "
            counter[0] += 1 if counter[0] else 0
        elif kind == "inline":
            self.add_inline(token)
        elif kind in ("fence", "code_block"):
            self.add_paragraph(clean(token.content))
        return index + 1

    def add_heading(self, opening: Token, inline: Token) -> None:
        text = clean(_plain(inline.children or []))
        if not text:
            return
        if opening.tag == "h1" and not self.blocks and not self.heading:
            self.heading = text
        else:
            self.blocks.append(Block("subhead", text))

    def add_quote(self, index: int) -> int:
        depth = 0
        lines: list[str] = []
        while index < len(self.tokens):
            token = self.tokens[index]
            if token.type == "blockquote_open":
                depth += 1
            elif token.type == "blockquote_close":
                depth -= 1
                if depth == 0:
                    break
            elif token.type == "inline":
                lines.extend(_lines(token.children or []))
            elif token.type in ("fence", "code_block"):
                lines.extend(token.content.split("\n"))
            index += 1
        lines = [clean(line) for line in lines if clean(line)]
        attribution = ""
        if len(lines) > 1 and lines[-1].startswith(ATTRIBUTION_DASHES):
            attribution = lines.pop().lstrip("".join(ATTRIBUTION_DASHES) + "-").strip()
        if lines:
            self.blocks.append(Block("quote", " ".join(lines), attribution))
        return index + 1

    def add_inline(self, token: Token) -> None:
        children = token.children or []
        for child in children:
            if child.type == "image":
                self.blocks.append(Block("image", image=_image(child, self.line(token))))
        text = clean(_plain(children))
        if self.marker and text:
            text, self.marker = self.marker + text, ""
        self.add_paragraph(text)

    def add_paragraph(self, text: str) -> None:
        if text:
            self.blocks.append(Block("paragraph", text))


def _plain(children: Sequence[Token]) -> str:
    """The plain text of inline tokens, images left out (they become blocks of their own)."""
    return " ".join(_lines(children))


def _lines(children: Sequence[Token]) -> list[str]:
    """The plain text of inline tokens, split where the source broke lines."""
    lines = [""]
    for child in children:
        if child.type in _BREAKS:
            lines.append("")
        elif child.type in ("text", "code_inline"):
            lines[-1] += child.content
    return lines


def _image(token: Token, line: int) -> Image:
    caption = clean(token.content)
    url = str(token.attrs.get("src", ""))
    credit = clean(str(token.attrs.get("title", "") or ""))
    return Image(url=check_image_url(url, line), credit=credit, caption=caption, alt=caption)
