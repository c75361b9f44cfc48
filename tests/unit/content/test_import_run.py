"""Importing folders into the store: good files saved together, bad ones named, nothing lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from meterwall.content.importers import ImportReport, collect, import_into
from meterwall.content.store import ArticleStore
from meterwall.settings import Settings
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade
from tests.factories import make_article, make_settings

GOOD_MD = (
    "---\nheadline: Tide tables go digital\nsection: Local\n---\n\nThe lede.\n\n## Sub\n\nMore.\n"
)
GOOD_TXT = "Ferry fares rise\n\nA dek.\n\nBody paragraph one.\n\nBody paragraph two.\n"


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[ArticleStore]:
    """The article store the imports write to, on a migrated database."""
    upgrade(settings.resolved_database_url)
    engine = create_engine(settings.resolved_database_url)
    yield ArticleStore(engine)
    await engine.dispose()


async def test_good_files_are_imported_and_bad_ones_named_while_stored_articles_survive(
    tmp_path: Path, settings: Settings, store: ArticleStore
) -> None:
    await store.save_all([(make_article(1), "earlier")])
    folder = tmp_path / "in"
    write(folder / "good.md", GOOD_MD)
    write(folder / "deeper" / "page.txt", GOOD_TXT)
    write(folder / "bad-yaml.md", "---\nheadline: H\nbyline: a: b\n---\nL.\n")
    write(folder / "bad-access.markdown", "---\nheadline: H2\naccess: paid\n---\nL.\n")
    write(folder / "empty.txt", "")
    write(folder / "notes.json", "{}")
    write(folder / ".drafts" / "hidden.md", GOOD_MD.replace("Tide", "Hidden"))

    report = await import_into(settings, [folder])

    assert report.imported == 2
    assert sorted(report.problems) == [
        f"{folder / 'bad-access.markdown'}:3: unknown access value 'paid' "
        "(use one of: free, metered, premium)",
        f"{folder / 'bad-yaml.md'}:3: bad YAML in front matter: "
        "mapping values are not allowed here",
        f"{folder / 'empty.txt'}:1: missing headline: the file has no text",
    ]
    assert await store.count() == 3
    assert await store.by_slug("story-1") == make_article(1)
    digital = await store.by_slug("tide-tables-go-digital")
    assert digital is not None and digital.section == "Local"
    assert [b.kind for b in digital.body] == ["paragraph", "subhead", "paragraph"]
    assert await store.by_slug("ferry-fares-rise") is not None
    assert await store.by_slug("hidden-tables-go-digital") is None


async def test_a_second_file_with_the_same_slug_is_reported_and_the_first_imported(
    tmp_path: Path, settings: Settings, store: ArticleStore
) -> None:
    first = write(tmp_path / "a.md", GOOD_MD)
    second = write(tmp_path / "b.md", GOOD_MD.replace("The lede.", "Another lede."))

    report = await import_into(settings, [first, second])

    assert report.imported == 1
    assert report.problems == [
        f"{second}: duplicate slug 'tide-tables-go-digital': {first} has it too"
    ]
    article = await store.by_slug("tide-tables-go-digital")
    assert article is not None and article.body[0].text == "The lede."


async def test_reimporting_replaces_the_article_with_the_same_slug(
    tmp_path: Path, settings: Settings, store: ArticleStore
) -> None:
    path = write(tmp_path / "a.md", GOOD_MD)
    await import_into(settings, [path])
    write(path, GOOD_MD.replace("The lede.", "A corrected lede."))

    report = await import_into(settings, [path])

    assert report == ImportReport(imported=1, problems=[])
    assert await store.count() == 1
    article = await store.by_slug("tide-tables-go-digital")
    assert article is not None and article.body[0].text == "A corrected lede."


async def test_paths_that_are_not_article_files_are_reported(
    tmp_path: Path, settings: Settings
) -> None:
    (tmp_path / "empty-folder").mkdir()
    other = write(tmp_path / "photo.jpg", b"\xff\xd8")

    report = await import_into(
        settings, [tmp_path / "missing.md", other, tmp_path / "empty-folder"]
    )

    assert report.imported == 0
    assert report.problems == [
        f"{tmp_path / 'missing.md'}: no such file or folder",
        f"{other}: not an article file (use .md, .markdown, .txt)",
        f"{tmp_path / 'empty-folder'}: no .md, .markdown, .txt files in this folder",
    ]


def test_a_file_that_is_not_utf8_is_reported_with_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "latin1.txt", "Headline\n\nDek.\n\nCaf\xe9 reopens.\n".encode("latin-1")
    )
    assert collect([path]).problems == [f"{path}:5: the file is not UTF-8 text"]


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", GOOD_MD)
    collected = collect([path, tmp_path, path])
    assert collected.problems == []
    assert len(collected.articles) == 1


def test_progress_is_reported_after_every_file(tmp_path: Path) -> None:
    for n in range(3):
        write(tmp_path / f"{n}.md", GOOD_MD.replace("Tide", f"Tide {n}"))
    write(tmp_path / "3.md", "not front matter and no headline")
    calls: list[tuple[int, int, str]] = []

    collect([tmp_path], progress=lambda done, total, name: calls.append((done, total, name)))

    assert calls == [(n + 1, 4, str(tmp_path / f"{n}.md")) for n in range(4)]


async def test_a_database_failure_is_reported_and_changes_nothing(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing(self: ArticleStore, items: object) -> int:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(ArticleStore, "save_all", failing)
    report = await import_into(settings, [write(tmp_path / "a.md", GOOD_MD)])

    assert report.imported == 0
    assert len(report.problems) == 1
    assert report.problems[0].startswith("database: could not save 1 article(s), nothing was")
    assert "database is locked" in report.problems[0]
