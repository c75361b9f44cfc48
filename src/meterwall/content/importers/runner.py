"""Importing files and folders of articles into the article store."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from meterwall.content.importers.errors import ImportProblem
from meterwall.content.importers.markdown import parse_markdown
from meterwall.content.importers.text import parse_text
from meterwall.content.model import Article
from meterwall.content.store import ArticleStore
from meterwall.settings import Settings
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade

MARKDOWN_SUFFIXES = (".md", ".markdown")
TEXT_SUFFIXES = (".txt",)
SUFFIXES = MARKDOWN_SUFFIXES + TEXT_SUFFIXES
MAX_FILE_BYTES = 5 * 1024 * 1024

Progress = Callable[[int, int, str], None]
"""Called after each file as ``progress(done, total, name)``."""


@dataclass(slots=True)
class ImportReport:
    """What an import did: how many articles were saved, and every problem found."""

    imported: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Collected:
    """Articles read from files (each with the file it came from), and the problems found."""

    articles: list[tuple[Article, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def find_files(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """The article files named by ``paths`` (folders walked recursively), and path problems.

    Hidden files and folders are skipped inside folders; a file named
    directly must have a supported suffix.  Each file appears once.
    """
    found: list[Path] = []
    problems: list[str] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.append(path)

    for path in paths:
        if path.is_dir():
            inside = sorted(_walk(path))
            if not inside:
                problems.append(f"{path}: no {', '.join(SUFFIXES)} files in this folder")
            for item in inside:
                add(item)
        elif path.is_file():
            if path.suffix.lower() in SUFFIXES:
                add(path)
            else:
                problems.append(f"{path}: not an article file (use {', '.join(SUFFIXES)})")
        else:
            problems.append(f"{path}: no such file or folder")
    return found, problems


def _walk(folder: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith(".") and Path(name).suffix.lower() in SUFFIXES:
                yield Path(root) / name


def read_article(path: Path, timezone: str = "UTC") -> Article:
    """The article in one file, by its suffix; raises :class:`ImportProblem`."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImportProblem(f"file is {size} bytes; article files may be at most 5 MB")
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportProblem(f"cannot read the file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ImportProblem("the file is not UTF-8 text", line) from None
    if path.suffix.lower() in MARKDOWN_SUFFIXES:
        return parse_markdown(text, timezone)
    return parse_text(text, timezone)


def collect(
    paths: Sequence[Path], timezone: str = "UTC", progress: Progress | None = None
) -> Collected:
    """Read every article file under ``paths``.

    A file with a problem is reported and left out; so is a file whose slug or
    id another file in the same import already uses.
    """
    files, path_problems = find_files(paths)
    result = Collected(problems=path_problems)
    slugs: dict[str, Path] = {}
    ids: dict[str, Path] = {}
    for done, path in enumerate(files, start=1):
        try:
            article = read_article(path, timezone)
            if article.slug in slugs:
                raise ImportProblem(
                    f"duplicate slug {article.slug!r}: {slugs[article.slug]} has it too"
                )
            if article.id in ids:
                raise ImportProblem(f"duplicate id {article.id!r}: {ids[article.id]} has it too")
        except ImportProblem as problem:
            result.problems.append(problem.located(str(path)))
        else:
            slugs[article.slug] = ids[article.id] = path
            result.articles.append((article, str(path)))
        if progress is not None:
            progress(done, len(files), str(path))
    return result


async def import_into(
    settings: Settings, paths: Sequence[Path], progress: Progress | None = None
) -> ImportReport:
    """Import the article files under ``paths`` into the configured database.

    Good files are saved together in one transaction (replacing stored
    articles with the same id or slug); bad files are reported by name and
    line and change nothing.
    """
    collected = collect(paths, settings.policy.timezone, progress)
    report = ImportReport(problems=collected.problems)
    if not collected.articles:
        return report
    if settings.auto_migrate:
        upgrade(settings.resolved_database_url)
    engine = create_engine(settings.resolved_database_url)
    try:
        report.imported = await ArticleStore(engine).save_all(collected.articles)
    except SQLAlchemyError as exc:
        report.problems.append(
            f"database: could not save {len(collected.articles)} article(s), "
            f"nothing was changed: {(str(exc).splitlines() or [type(exc).__name__])[0]}"
        )
    finally:
        await engine.dispose()
    return report
