"""Checks before a server starts: each bad setting is named, nothing is half-started."""

from __future__ import annotations

from pathlib import Path

import pytest

from meterwall.ops.preflight import preflight
from meterwall.settings import SettingsError, load_settings
from tests.factories import make_settings


def test_good_settings_pass(tmp_path: Path) -> None:
    assert preflight(make_settings(tmp_path), workers=4) == []


def test_zero_workers_is_refused(tmp_path: Path) -> None:
    assert preflight(make_settings(tmp_path), workers=0) == ["--workers must be 1 or more (got 0)"]


def test_an_unwritable_data_dir_is_named_when_the_secret_key_must_live_there(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    settings = make_settings(
        tmp_path,
        secret_key=None,
        data_dir=blocker / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/ok.db",
    )
    problems = preflight(settings)
    assert len(problems) == 1
    assert problems[0].startswith("data_dir (env METERWALL_DATA_DIR): cannot write")


def test_an_unwritable_sqlite_folder_names_the_database_url(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    settings = make_settings(tmp_path, database_url=f"sqlite+aiosqlite:///{blocker}/x/mw.db")
    (problem,) = preflight(settings)
    assert problem.startswith("database_url (env METERWALL_DATABASE_URL): cannot write")


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"trusted_proxies": ["10.0.0.0/33"]}, "trusted_proxies (env METERWALL_TRUSTED_PROXIES)"),
        (
            {"ops": {"metrics_token": "short"}},
            "ops.metrics_token (env METERWALL_OPS__METRICS_TOKEN)",
        ),
        ({"ops": {"log_format": "xml"}}, "ops.log_format (env METERWALL_OPS__LOG_FORMAT)"),
        (
            {"ops": {"readiness_timeout_seconds": 0}},
            "ops.readiness_timeout_seconds (env METERWALL_OPS__READINESS_TIMEOUT_SECONDS)",
        ),
    ],
)
def test_bad_operations_settings_are_named(overrides: dict[str, object], named: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(**overrides)
    assert named in str(caught.value)
