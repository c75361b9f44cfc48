"""Cutting an article down to its teaser on the server."""

from __future__ import annotations

from meterwall.content.model import Article, Block


def lede(article: Article, words: int = 0) -> tuple[Block, ...]:
    """The body blocks a reader who is not entitled may see.

    With ``words`` = 0 the lede is the first paragraph; otherwise it is the
    first ``words`` words of the body's paragraphs, cut at a word boundary and
    never beyond the first paragraph that reaches the count.
    """
    paragraphs = [b for b in article.body if b.kind == "paragraph"]
    if not paragraphs:
        return ()
    if words <= 0:
        return (paragraphs[0],)
    kept: list[Block] = []
    remaining = words
    for block in paragraphs:
        tokens = block.text.split()
        if len(tokens) <= remaining:
            kept.append(block)
            remaining -= len(tokens)
        else:
            kept.append(Block(kind="paragraph", text=" ".join(tokens[:remaining]) + " …"))
            remaining = 0
        if remaining == 0:
            break
    return tuple(kept)
