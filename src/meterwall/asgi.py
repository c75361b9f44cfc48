"""ASGI entry points for production servers, built from settings in the environment.

``meterwall serve`` runs uvicorn on :func:`app_from_environment` (a factory,
called once in each worker process).  Any other ASGI server can import
``meterwall.asgi:app``, e.g.::

    gunicorn -w 4 -k uvicorn.workers.UvicornWorker meterwall.asgi:app

Settings come from ``METERWALL_*`` variables and the TOML file named by
``METERWALL_CONFIG``.  Run ``meterwall migrate`` before starting workers this
way (``meterwall serve`` does it for you).
"""

from __future__ import annotations

import sys

from starlette.applications import Starlette

from meterwall.app import create_app
from meterwall.ops.logging import configure_logging
from meterwall.settings import SettingsError, load_settings


def app_from_environment() -> Starlette:
    """The app for the settings in the environment; exits with status 2 if they are invalid."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"meterwall: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.ops.log_format, settings.ops.log_level)
    return create_app(settings)


def __getattr__(name: str) -> Starlette:
    # Built on first access, so importing this module for the factory builds nothing.
    if name == "app":
        app = app_from_environment()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
