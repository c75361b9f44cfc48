"""``meterwall admin``: staff accounts from the command line."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from meterwall.cli import main

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Run:
    config = tmp_path / "meterwall.toml"
    config.write_text(f'data_dir = "{tmp_path}"\nsecret_key = "k"\n')
    # The command sets METERWALL_CONFIG; monkeypatch puts the environment back afterwards.
    monkeypatch.setenv("METERWALL_CONFIG", str(config))

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--config", str(config), "admin", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_create_list_and_change_staff(admin: Run) -> None:
    run = admin
    code, out, err = run(
        "create-user", "Editor@Example.com", "--password-stdin", stdin="long enough pw\n"
    )
    assert code == 0, err
    assert "created staff user editor@example.com" in out
    code, _out, err = run("create-user", "editor@example.com", stdin="long enough pw\n")
    assert (code, "already exists" in err) == (1, True)
    code, _out, err = run("create-user", "other@example.com", stdin="short\n")
    assert (code, "at least 10 characters" in err) == (1, True)
    code, _out, err = run("create-user", "not-an-email", stdin="long enough pw\n")
    assert (code, "not an email address" in err) == (1, True)
    _code, out, _err = run("list-users")
    assert "editor@example.com\tlast sign-in: never" in out
    code, out, _err = run("set-password", "editor@example.com", stdin="another long pw\n")
    assert (code, "ended its sessions" in out) == (0, True)
    code, _out, err = run("set-password", "ghost@example.com", stdin="another long pw\n")
    assert (code, "no staff user" in err) == (1, True)
