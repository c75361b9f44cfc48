"""Small helpers over a parsed HTML tree (selectolax's Lexbor nodes).

Pages are parsed as a browser with scripting on would parse them, so what
meterwall reads and writes is the same tree the reader's browser builds.
"""

from __future__ import annotations

from collections.abc import Iterator

from selectolax.lexbor import LexborHTMLParser, LexborNode

RAW_TEXT = frozenset({"script", "style", "noscript", "template", "textarea", "xmp", "title"})
"""Elements whose content is not rendered as page text."""

Locator = tuple[int, ...]
"""Where an element sits: the index of each element among its parent's element children."""


def parse(text: str) -> LexborHTMLParser:
    """Parse a whole HTML document the way a browser with scripting on does."""
    return LexborHTMLParser(text, scripting=True)


def fragment(markup: str) -> LexborNode:
    """The single element that ``markup`` describes, ready to insert into a tree."""
    parsed = LexborHTMLParser(markup, is_fragment=True)
    root = parsed.root
    if root is None or not root.is_element_node:
        raise ValueError("markup must describe one element")
    return root


def element_children(node: LexborNode) -> Iterator[LexborNode]:
    """The element children of ``node`` (no text or comment nodes)."""
    child = node.child
    while child is not None:
        if child.is_element_node:
            yield child
        child = child.next


def locate(node: LexborNode) -> Locator:
    """The locator of ``node`` in its document."""
    path: list[int] = []
    current = node
    while current.parent is not None and current.parent.is_element_node:
        parent = current.parent
        index = 0
        for sibling in element_children(parent):
            if sibling.mem_id == current.mem_id:
                break
            index += 1
        path.append(index)
        current = parent
    return tuple(reversed(path))


def find(tree: LexborHTMLParser, locator: Locator) -> LexborNode | None:
    """The element at ``locator``, or ``None`` when the tree has no such element."""
    node = tree.root
    for index in locator:
        if node is None:
            return None
        node = next((c for i, c in enumerate(element_children(node)) if i == index), None)
    return node


def ancestors(node: LexborNode) -> Iterator[LexborNode]:
    """The element ancestors of ``node``, nearest first."""
    current = node.parent
    while current is not None and current.is_element_node:
        yield current
        current = current.parent


def inside(node: LexborNode, container: LexborNode) -> bool:
    """Whether ``node`` is ``container`` or lies within it."""
    if node.mem_id == container.mem_id:
        return True
    return any(a.mem_id == container.mem_id for a in ancestors(node))


def common_ancestor(nodes: list[LexborNode]) -> LexborNode | None:
    """The deepest element containing every one of ``nodes``."""
    if not nodes:
        return None
    chains = [[n, *ancestors(n)] for n in nodes]
    shared = {n.mem_id for n in chains[0]}
    for chain in chains[1:]:
        shared &= {n.mem_id for n in chain}
    return next((n for n in chains[0] if n.mem_id in shared), None)


def remove_after(node: LexborNode, container: LexborNode) -> list[LexborNode]:
    """Detach everything that follows ``node`` inside ``container``; return what was removed.

    The removed nodes are detached from the document, so the caller can still
    read their text (to fingerprint it) before dropping them.
    """
    removed: list[LexborNode] = []
    current = node
    while current.mem_id != container.mem_id:
        sibling = current.next
        while sibling is not None:
            following = sibling.next
            removed.append(sibling)
            sibling = following
        parent = current.parent
        if parent is None:
            break
        current = parent
    return removed


_RAW_SELECTOR = ", ".join(sorted(RAW_TEXT))


def text_of(node: LexborNode) -> str:
    """The rendered text of ``node``: its text nodes outside scripts, styles and templates."""
    if node.is_text_node:
        return node.text_content or ""
    if node.css_first(_RAW_SELECTOR) is None:
        # Nothing to skip: the parser joins the text nodes itself, much faster.
        return node.text(deep=True, separator=" ")
    parts: list[str] = []
    for child in node.traverse(include_text=True):
        if child.is_text_node and not _under_raw_text(child, node):
            parts.append(child.text_content or "")
    return " ".join(parts)


def _under_raw_text(text: LexborNode, stop: LexborNode) -> bool:
    for ancestor in ancestors(text):
        if ancestor.tag in RAW_TEXT:
            return True
        if ancestor.mem_id == stop.mem_id:
            return False
    return False


def set_text(node: LexborNode, text: str) -> None:
    """Replace the content of a raw-text element (``<script>``, ``<title>``) with ``text``."""
    children = list(node.iter(include_text=True))
    for child in children[1:]:
        child.decompose()
    if children:
        children[0].replace_with(text)
    elif text:
        node.insert_child(text)


def class_and_id(node: LexborNode) -> str:
    """The ``class`` and ``id`` of ``node``, case-folded, for boilerplate patterns."""
    attrs = node.attributes
    return f"{attrs.get('class') or ''} {attrs.get('id') or ''}".casefold()
