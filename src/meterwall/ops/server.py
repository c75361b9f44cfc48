"""``meterwall serve``: uvicorn with N worker processes, set up once in the parent.

The parent checks the settings, migrates the database, makes sure the
cookie-signing key exists (so workers never race to create different ones)
and prepares the metrics folder; then each worker builds the app from the
same settings, handed down through the environment (see :mod:`meterwall.asgi`).
On SIGTERM or Ctrl+C the server stops accepting connections and lets the
requests in flight finish, for at most ``ops.graceful_shutdown_seconds``.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from meterwall import __version__
from meterwall.app import secret_keys
from meterwall.ops.logging import configure_logging
from meterwall.ops.metrics import MULTIPROCESS_ENV
from meterwall.ops.preflight import preflight
from meterwall.settings import Settings, SettingsError
from meterwall.storage.migrate import upgrade

APP_FACTORY = "meterwall.asgi:app_from_environment"
UVICORN_OPTIONS: Mapping[str, Any] = {
    "log_config": None,  # meterwall's own logging, configured in each worker
    "access_log": False,  # the request observer writes the access log
    "proxy_headers": False,  # forwarding headers are trusted only from trusted_proxies
    "server_header": False,
}
"""uvicorn options every meterwall server runs with (the benchmarks use them too)."""


def environment_for(overrides: Mapping[str, object]) -> dict[str, str]:
    """``METERWALL_*`` variables that give worker processes the same setting overrides."""
    env: dict[str, str] = {}
    for name, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, Path):
            text = str(value.resolve())
        elif isinstance(value, str | int | float):
            text = str(value)
        else:
            text = json.dumps(value, default=str)
        env[f"METERWALL_{name.upper()}"] = text
    return env


@contextmanager
def multiprocess_metrics(workers: int) -> Iterator[str | None]:
    """With several workers, a fresh folder for prometheus_client's per-process samples.

    An operator's own ``PROMETHEUS_MULTIPROC_DIR`` is used as it is and kept.
    """
    given = os.environ.get(MULTIPROCESS_ENV)
    if workers <= 1 or given:
        yield given
        return
    folder = tempfile.mkdtemp(prefix="meterwall-metrics-")
    os.environ[MULTIPROCESS_ENV] = folder
    try:
        yield folder
    finally:
        os.environ.pop(MULTIPROCESS_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)


def port_free(host: str, port: int) -> None:
    """:class:`SettingsError` unless ``host:port`` can be listened on, said before starting."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: an address in TIME_WAIT from a previous run is not "in use".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise SettingsError(
                    f"port {port} on {host} is already in use: stop what uses it, "
                    "or choose another port with --port"
                ) from None
            raise SettingsError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _migrate(settings: Settings) -> None:
    try:
        upgrade(settings.resolved_database_url)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SettingsError(
            "database_url (env METERWALL_DATABASE_URL): cannot bring the database schema "
            f"up to date: {reason}"
        ) from None


def prepare(settings: Settings, overrides: Mapping[str, object], workers: int) -> None:
    """Everything done once before the workers start; :class:`SettingsError` if it cannot be."""
    problems = preflight(settings, workers)
    if problems:
        raise SettingsError("cannot start:\n" + "\n".join(f"  {p}" for p in problems))
    os.environ.update(environment_for(overrides))
    if settings.auto_migrate:
        _migrate(settings)
    os.environ["METERWALL_AUTO_MIGRATE"] = "false"
    secret_keys(settings)


def serve(
    settings: Settings,
    overrides: Mapping[str, object],
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
) -> None:
    """Serve the site until SIGTERM or Ctrl+C; :class:`SettingsError` before starting if unfit."""
    import uvicorn

    configure_logging(settings.ops.log_format, settings.ops.log_level)
    port_free(host, port)
    prepare(settings, overrides, workers)
    plural = "s" if workers != 1 else ""
    print(
        f"meterwall {__version__}: {settings.site_name}, listening on {host}:{port} "
        f"with {workers} worker{plural}; public URL {settings.public_url}/"
    )
    print("Press Ctrl+C to stop.", flush=True)
    with multiprocess_metrics(workers):
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            **UVICORN_OPTIONS,
            timeout_graceful_shutdown=math.ceil(settings.ops.graceful_shutdown_seconds) or None,
        )
