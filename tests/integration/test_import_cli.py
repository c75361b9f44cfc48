"""``meterwall import`` end to end: files in, exit code and messages out, pages served."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from meterwall.app import create_app
from meterwall.cli import main
from meterwall.content.model import Article
from meterwall.content.store import ArticleStore
from meterwall.storage.engine import create_engine
from tests.factories import make_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "import"

PAGE_WITHOUT_PHOTO_URL = """\
Ferry fares rise for the first time in a decade

The state says the increase pays for a second engineer on every crossing.

Jane Photographer/Harbor Ledger
Cars line up for the morning boat.

Fares on the Kestrel Island route will rise by 75 cents in January.

The state ferry service said the increase would raise $400,000 a year.


of stories this month > Get unlimited stories
You've read\u00a0\u00a0of\u00a0\u00a0 free articles. Subscribe to continue.
"""


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("METERWALL_DATA_DIR", str(folder))
    monkeypatch.delenv("METERWALL_CONFIG", raising=False)
    monkeypatch.delenv("METERWALL_DATABASE_URL", raising=False)
    return folder


def stored(data_dir: Path) -> list[Article]:
    async def read() -> list[Article]:
        engine = create_engine(make_settings(data_dir).resolved_database_url)
        try:
            return await ArticleStore(engine).latest(100)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_the_examples_import_cleanly(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(EXAMPLES)]) == 0

    out, err = capsys.readouterr()
    assert "imported 2 article(s), 0 file(s) with errors" in out
    assert "error" not in err
    slugs = {a.slug for a in stored(data_dir)}
    assert slugs == {
        "breakwater-lights-go-solar",
        "harbor-committee-backs-a-winter-haul-out-fee-holiday",
    }


def test_a_bad_file_is_named_with_its_line_and_the_exit_code_says_so(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.md").write_text("---\nheadline: Good one\n---\nLede.\n")
    (folder / "bad.md").write_text("---\nheadline: Bad one\naccess: paid\n---\nLede.\n")

    assert main(["import", str(folder)]) == 1

    out, err = capsys.readouterr()
    assert f"error: {folder / 'bad.md'}:3: unknown access value 'paid'" in err
    assert "imported 1 article(s), 1 file(s) with errors" in out
    assert [a.slug for a in stored(data_dir)] == ["good-one"]


async def test_a_page_without_a_photo_url_is_served_with_its_credit_and_no_broken_image(
    tmp_path: Path, data_dir: Path
) -> None:
    page = tmp_path / "fares.txt"
    page.write_text(PAGE_WITHOUT_PHOTO_URL, encoding="utf-8")
    assert await asyncio.to_thread(main, ["import", str(page)]) == 0

    app = create_app(make_settings(data_dir, auto_migrate=False))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = await client.get("/articles/ferry-fares-rise-for-the-first-time-in-a-decade")
    await app.state.services.engine.dispose()

    assert response.status_code == 200
    assert "Jane Photographer/Harbor Ledger" in response.text
    assert "Cars line up for the morning boat." in response.text
    assert 'src=""' not in response.text
    (article,) = await asyncio.to_thread(stored, data_dir)
    assert article.body[-1].text.endswith("$400,000 a year.")
    assert "stories this month" not in " ".join(article.text_blocks())
