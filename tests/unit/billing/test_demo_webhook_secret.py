"""The demo's webhook secret is made per data dir, not a string published in the source."""

from __future__ import annotations

import stat
from pathlib import Path

from meterwall.billing.emulator import demo_webhook_secret


def test_each_data_dir_gets_its_own_secret_kept_private(tmp_path: Path) -> None:
    first = demo_webhook_secret(tmp_path / "a")
    assert first.startswith("whsec_") and len(first) > 40
    assert demo_webhook_secret(tmp_path / "a") == first, "kept across restarts"
    assert demo_webhook_secret(tmp_path / "b") != first
    mode = (tmp_path / "a" / "stripe-webhook.key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
