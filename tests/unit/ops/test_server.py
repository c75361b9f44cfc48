"""What ``meterwall serve`` prepares before handing over to uvicorn's workers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from meterwall.ops.metrics import MULTIPROCESS_ENV
from meterwall.ops.server import environment_for, multiprocess_metrics, prepare
from meterwall.settings import Settings, SettingsError
from tests.factories import make_settings


@pytest.fixture
def saved_environment() -> Iterator[None]:
    """Undo whatever ``prepare`` writes into the environment for the workers."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_overrides_become_environment_variables_the_workers_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    overrides = {
        "data_dir": tmp_path / "data",
        "public_url": "http://127.0.0.1:9000",
        "demo": True,
        "trusted_proxies": ["10.0.0.0/8"],
        "site_name": None,
    }
    env = environment_for(overrides)
    assert env["METERWALL_DATA_DIR"] == str((tmp_path / "data").resolve())
    assert env["METERWALL_DEMO"] == "true"
    assert "METERWALL_SITE_NAME" not in env
    for name, text in env.items():
        monkeypatch.setenv(name, text)
    rebuilt = Settings()
    assert rebuilt.data_dir == (tmp_path / "data").resolve()
    assert rebuilt.public_url == "http://127.0.0.1:9000"
    assert rebuilt.demo is True
    assert rebuilt.trusted_proxies == ["10.0.0.0/8"]


def test_several_workers_get_a_fresh_metrics_folder_removed_afterwards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MULTIPROCESS_ENV, raising=False)
    with multiprocess_metrics(3) as folder:
        assert folder is not None
        assert os.environ[MULTIPROCESS_ENV] == folder
        assert Path(folder).is_dir()
    assert not Path(folder).exists()
    assert MULTIPROCESS_ENV not in os.environ


def test_one_worker_needs_no_metrics_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROCESS_ENV, raising=False)
    with multiprocess_metrics(1) as folder:
        assert folder is None
        assert MULTIPROCESS_ENV not in os.environ


def test_an_operators_own_metrics_folder_is_used_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MULTIPROCESS_ENV, str(tmp_path))
    with multiprocess_metrics(4) as folder:
        assert folder == str(tmp_path)
    assert tmp_path.is_dir()


@pytest.mark.usefixtures("saved_environment")
def test_prepare_migrates_once_creates_the_shared_key_and_tells_workers_not_to_migrate(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, secret_key=None)
    prepare(settings, {"data_dir": tmp_path}, workers=2)
    assert (tmp_path / "meterwall.db").is_file()
    assert (tmp_path / "secret.key").is_file()
    assert os.environ["METERWALL_AUTO_MIGRATE"] == "false"
    assert os.environ["METERWALL_DATA_DIR"] == str(tmp_path.resolve())


@pytest.mark.usefixtures("saved_environment")
def test_prepare_refuses_bad_settings_before_touching_anything(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="--workers must be 1 or more"):
        prepare(make_settings(tmp_path), {}, workers=0)
    assert not (tmp_path / "meterwall.db").exists()


@pytest.mark.usefixtures("saved_environment")
def test_an_unreachable_database_is_a_clear_error_naming_database_url(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    with pytest.raises(SettingsError) as caught:
        prepare(settings, {}, workers=1)
    assert "database_url (env METERWALL_DATABASE_URL): cannot bring" in str(caught.value)
