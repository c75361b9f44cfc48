"""YAML front matter: the ``---`` block at the top of an article file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from meterwall.content.importers.errors import ImportProblem

FENCE = "---"
_CLOSERS = ("---", "...")
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """Safe YAML that leaves dates as text, so a bad date gets a clear message of ours."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    """An explicit ``!!timestamp`` value, kept as text for the date checks of the importer."""
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(
            None, None, "a date must be a single value", node.start_mark
        )
    return str(loader.construct_scalar(node))


_Loader.add_constructor(_TIMESTAMP, _timestamp_as_text)


@dataclass(frozen=True, slots=True)
class Document:
    """An article file split into its front matter and its body.

    ``lines`` maps each front-matter key to the file line it is on;
    ``body_line`` is the file line the body starts on.
    """

    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    body: str = ""
    body_line: int = 1

    def line_of(self, key: str) -> int:
        """The line of ``key`` in the front matter, or of the body when the key is absent."""
        return self.lines.get(key, self.body_line)


def split(text: str) -> Document:
    """Split ``text`` into front matter (if it starts with ``---``) and body."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != FENCE:
        return Document(body=text, body_line=1)
    for index in range(1, len(lines)):
        if lines[index].rstrip() in _CLOSERS:
            values, key_lines = _parse("\n".join(lines[1:index]))
            return Document(
                values=values,
                lines=key_lines,
                body="\n".join(lines[index + 1 :]),
                body_line=index + 2,
            )
    raise ImportProblem("front matter opened with '---' is never closed with '---'", 1)


def _parse(source: str) -> tuple[dict[str, Any], dict[str, int]]:
    """The front matter's keys and values, and the file line of each key."""
    try:
        loader = _Loader(source)
    except yaml.reader.ReaderError as exc:
        line = source.count("\n", 0, int(exc.position)) + 2
        raise ImportProblem(
            f"front matter holds a control character ({int(exc.character):#x}) YAML does not allow",
            line,
        ) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        if not isinstance(node, yaml.MappingNode):
            raise ImportProblem("front matter must be 'key: value' lines", _file_line(node))
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark is not None else 1
        raise ImportProblem(f"bad YAML in front matter: {exc.problem or exc}", line) from None
    except yaml.YAMLError as exc:
        raise ImportProblem(f"bad YAML in front matter: {exc}", 1) from None
    except RecursionError:
        raise ImportProblem("front matter is nested too deeply", 1) from None
    except (ValueError, TypeError, OverflowError, KeyError, AttributeError, IndexError) as exc:
        # PyYAML's constructors for explicit tags (!!bool, !!int...) raise these on bad values.
        raise ImportProblem(f"bad value in front matter: {exc}", 1) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ImportProblem("front matter must be 'key: value' lines", 1)
    key_lines: dict[str, int] = {}
    for key_node, _value in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            key_lines.setdefault(str(key_node.value), _file_line(key_node))
    for key in data:
        if not isinstance(key, str):
            raise ImportProblem(f"front-matter keys must be names, not {type(key).__name__}", 1)
    return data, key_lines


def _file_line(node: yaml.Node) -> int:
    """The file line of a front-matter node (the front matter starts on line 2)."""
    return int(node.start_mark.line) + 2
