"""Importing articles from Markdown files with YAML front matter and from plain-text pages.

``import_into(settings, paths)`` reads files and folders, reports each bad
file by name and line, and saves the good ones in one transaction.
"""

from __future__ import annotations

from meterwall.content.importers.errors import ImportProblem
from meterwall.content.importers.markdown import parse_markdown
from meterwall.content.importers.runner import (
    Collected,
    ImportReport,
    Progress,
    collect,
    find_files,
    import_into,
    read_article,
)
from meterwall.content.importers.text import parse_text

__all__ = [
    "Collected",
    "ImportProblem",
    "ImportReport",
    "Progress",
    "collect",
    "find_files",
    "import_into",
    "parse_markdown",
    "parse_text",
    "read_article",
]
