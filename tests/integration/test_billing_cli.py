"""``meterwall grant``, ``meterwall licence`` and ``meterwall billing sync``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from meterwall.app import build_services, utc_now
from meterwall.billing.emulator import LocalStripe
from meterwall.cli import main
from meterwall.settings import Settings
from tests.accounts_support import SECRET, localstripe_fixture  # noqa: F401 - the emulator fixture


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("METERWALL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("METERWALL_SECRET_KEY", "cli-secret")
    return tmp_path


def test_grant_gives_complimentary_access(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grant", "Editor@Example.com", "--days", "30", "--note", "staff"]) == 0
    assert "editor@example.com: complimentary access until" in capsys.readouterr().out
    assert main(["grant", "not-an-email"]) == 1
    assert "valid email" in capsys.readouterr().err
    assert main(["grant", "open@example.com"]) == 0
    assert "until revoked" in capsys.readouterr().out


def _complimentary_until(email: str) -> object:
    async def read() -> object:
        services = build_services(Settings())
        try:
            account = await services.members.accounts.by_email(email)
            assert account is not None
            return await services.billing.store.complimentary_until(account.id, utc_now())
        finally:
            await services.engine.dispose()

    return asyncio.run(read())


def test_a_grant_until_revoked_can_be_revoked_and_is_listed_with_its_note(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["grant", "columnist@example.com", "--note", "guest columnist 2026"]) == 0
    assert _complimentary_until("columnist@example.com") is not None
    capsys.readouterr()
    assert main(["grant", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "columnist@example.com" in listed
    assert "until revoked" in listed
    assert "guest columnist 2026" in listed
    assert main(["grant", "Columnist@Example.com", "--revoke"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert _complimentary_until("columnist@example.com") is None, "access ends at once"
    assert main(["grant", "--list"]) == 0
    assert "ended" in capsys.readouterr().out
    assert main(["grant", "columnist@example.com", "--revoke"]) == 1
    assert "no complimentary access" in capsys.readouterr().err
    assert main(["grant", "nobody@example.com", "--revoke"]) == 1
    assert "no account" in capsys.readouterr().err
    assert main(["grant"]) == 2


def test_licences_are_added_listed_and_removed(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["licence", "add", "--name", "Campus", "--cidr", "192.0.2.0/24"]) == 0
    added = capsys.readouterr().out
    licence_id = added.split()[1].rstrip(":")
    assert main(["licence", "add", "--name", "Bad", "--cidr", "999.0.0.0/8"]) == 1
    assert "not an IP network" in capsys.readouterr().err
    assert main(["licence", "list"]) == 0
    assert "192.0.2.0/24" in capsys.readouterr().out
    assert main(["licence", "remove", "--id", licence_id]) == 0
    assert main(["licence", "remove", "--id", licence_id]) == 1


def test_billing_sync_needs_stripe(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["billing", "sync"]) == 1
    assert "not configured" in capsys.readouterr().err


def test_billing_sync_against_the_emulator(
    site: Path,
    localstripe: LocalStripe,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("METERWALL_STRIPE__SECRET_KEY", SECRET)
    monkeypatch.setenv("METERWALL_STRIPE__API_BASE", localstripe.api_base)
    assert main(["billing", "sync"]) == 0
    assert "checked 0 subscription(s)" in capsys.readouterr().out
