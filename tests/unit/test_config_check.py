"""Configuration mistakes are caught with a one-line message: names, TOML syntax, secret files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from meterwall.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.delenv("METERWALL_CONFIG", raising=False)
    monkeypatch.setenv("METERWALL_DATA_DIR", str(tmp_path))
    yield
    # load_settings(config) names the file in the environment, for the server's workers.
    os.environ.pop("METERWALL_CONFIG", None)


def _error(**overrides: object) -> str:
    with pytest.raises(SettingsError) as error:
        load_settings(**overrides)  # type: ignore[arg-type]
    return str(error.value)


def test_a_misspelled_variable_stops_the_load_and_names_the_nearest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("METERWALL_POLICY__ANONYMOS_LIMIT", "0")
    message = _error()
    assert "METERWALL_POLICY__ANONYMOS_LIMIT is not a meterwall setting" in message
    assert "did you mean METERWALL_POLICY__ANONYMOUS_LIMIT?" in message
    assert "Traceback" not in message


def test_test_and_file_variables_are_not_mistakes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "key"
    secret.write_text("a-secret-from-a-file\n")
    monkeypatch.setenv("METERWALL_TEST_ANYTHING", "1")
    monkeypatch.setenv("METERWALL_SECRET_KEY_FILE", str(secret))
    settings = load_settings()
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == "a-secret-from-a-file"


def test_nested_secrets_come_from_files_and_a_secrets_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "METERWALL_STRIPE__SECRET_KEY").write_text("sk_test_from_folder")
    (folder / "meterwall_secret_key").write_text("cookie-key-from-folder")
    (folder / "unrelated").write_text("ignored")
    monkeypatch.setenv("METERWALL_SECRETS_DIR", str(folder))
    settings = load_settings()
    assert settings.stripe.secret_key is not None
    assert settings.stripe.secret_key.get_secret_value() == "sk_test_from_folder"
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == "cookie-key-from-folder"
    monkeypatch.setenv("METERWALL_SECRET_KEY", "the-environment-wins")
    assert load_settings().secret_key.get_secret_value() == "the-environment-wins"  # type: ignore[union-attr]


def test_a_secret_set_twice_or_missing_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("METERWALL_SECRET_KEY_FILE", str(tmp_path / "missing"))
    assert "METERWALL_SECRET_KEY_FILE: cannot read" in _error()
    monkeypatch.setenv("METERWALL_SECRET_KEY", "x")
    assert "set METERWALL_SECRET_KEY or METERWALL_SECRET_KEY_FILE, not both" in _error()


def test_an_unknown_toml_key_stops_the_load_and_names_the_nearest(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('site_name = "x"\n[policy]\nlimit = 0\n[polcy]\nregwall = true\n')
    with pytest.raises(SettingsError) as error:
        load_settings(config)
    message = str(error.value)
    assert f"{config}: unknown setting 'policy.limit'" in message
    assert "did you mean 'policy.anonymous_limit'" in message
    assert f"{config}: unknown setting 'polcy'; did you mean 'policy'?" in message
    assert "polcy.regwall" not in message, "the unknown section is named once"


def test_a_toml_syntax_error_gives_file_line_and_column(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('site_name = "x"\n[policy\nanonymous_limit = 3\n')
    with pytest.raises(SettingsError) as error:
        load_settings(config)
    message = str(error.value)
    assert str(config) in message
    assert "line 2" in message and "column" in message


def test_a_wrong_type_in_toml_is_blamed_on_the_file_not_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('[policy]\nanonymous_limit = "five"\n')
    with pytest.raises(SettingsError) as error:
        load_settings(config)
    message = str(error.value)
    assert f"policy.anonymous_limit (in {config})" in message
    assert "METERWALL_POLICY__ANONYMOUS_LIMIT" not in message


def test_offers_tables_are_validated_by_their_own_rules(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(
        '[[offers]]\nid = "m"\nname = "Monthly"\nprice = "9"\ncurrency = "USD"\n'
        'interval = "month"\n[offers.coupons]\nWELCOME = 50\n'
    )
    assert load_settings(config).offers[0].id == "m"


def test_the_command_line_says_it_in_one_line_without_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text("[policy]\nlimit = 0\n")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from meterwall.cli import main; sys.exit(main())",
            *("--config", str(config), "migrate"),
        ],
        capture_output=True,
        text=True,
        env={**_inherited(), "METERWALL_DATA_DIR": str(tmp_path)},
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "unknown setting 'policy.limit'" in done.stderr
    assert "Traceback" not in done.stderr


def _inherited() -> dict[str, str]:
    """This process's environment without meterwall's variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith("METERWALL_")}
