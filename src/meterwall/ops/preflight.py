"""Checks made once before a server starts, so a bad setting stops it with a clear message.

Field-by-field validation lives in :mod:`meterwall.settings`; these checks
need the machine (a writable folder) or the whole app (adapters that refuse a
setting when they are built).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from meterwall.app import create_app
from meterwall.settings import Settings


def _writable(folder: Path) -> str | None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _sqlite_folder(settings: Settings) -> Path | None:
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).parent


def preflight(settings: Settings, workers: int = 1) -> list[str]:
    """Every problem that would stop or break a server with these settings, one line each."""
    problems: list[str] = []
    if workers < 1:
        problems.append(f"--workers must be 1 or more (got {workers})")
    if settings.secret_key is None:
        reason = _writable(settings.data_dir)
        if reason is not None:
            problems.append(
                f"data_dir (env METERWALL_DATA_DIR): cannot write {settings.data_dir} to keep "
                f"the generated secret key there ({reason}); make it writable or set secret_key"
            )
    folder = _sqlite_folder(settings)
    if folder is not None:
        reason = _writable(folder)
        if reason is not None:
            name = "database_url" if settings.database_url else "data_dir"
            problems.append(
                f"{name} (env METERWALL_{name.upper()}): cannot write the SQLite database "
                f"in {folder} ({reason})"
            )
    if problems:
        return problems
    try:
        create_app(settings)
    except Exception as exc:
        problems.append(f"cannot build the app with these settings: {type(exc).__name__}: {exc}")
    return problems
