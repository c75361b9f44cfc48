"""The app the HTTP benchmarks serve: meterwall, plus the same pages without the access check.

Benchmark-only, never part of the product.  ``/nocheck-metered/...`` and
``/nocheck-gated/...`` serve the very same app and handler as the real path
behind the prefix, except that resolving the reader (entitlements) and the
access decision (meter check and record) are skipped and a fixed decision is
used instead: full text counted as metered, or the teaser with the paywall.
Every other step (article lookup, templates, cookie, middleware, logging,
metrics) is the same, so the throughput ratio is the cost of the paywall.

Run as ``python benchmarks/pageapp.py PORT WORKERS`` with settings in the
environment (``METERWALL_*``).
"""

from __future__ import annotations

import sys
from contextvars import ContextVar
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from meterwall.access.model import ArticleAccess, Decision, Metered, Paywall, ReaderState
from meterwall.app import create_app
from meterwall.identity.readers import RequestFacts
from meterwall.ops.logging import configure_logging
from meterwall.ops.server import UVICORN_OPTIONS
from meterwall.settings import load_settings

PREFIXES: dict[str, Decision] = {
    "/nocheck-metered": Metered(used=1, limit=5),
    "/nocheck-gated": Paywall(used=5, limit=5),
}

_fixed: ContextVar[Decision | None] = ContextVar("bench_fixed_decision", default=None)


class FixedOrReal:
    """The access service, answering with the fixed decision on the no-check paths."""

    def __init__(self, real: Any) -> None:
        self._real = real

    async def decide(self, article: ArticleAccess, reader: ReaderState, now: datetime) -> Decision:
        fixed = _fixed.get()
        if fixed is not None:
            return fixed
        return await self._real.decide(article, reader, now)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class AnonymousOrReal:
    """Reader resolution, skipped on the no-check paths."""

    def __init__(self, real: Any) -> None:
        self._real = real

    async def state(self, facts: RequestFacts) -> ReaderState:
        if _fixed.get() is not None:
            return ReaderState(reader_id=facts.reader_id)
        return await self._real.state(facts)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class Switch:
    """Strip a no-check prefix from the path and remember the fixed decision for the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for prefix, decision in PREFIXES.items():
                if scope["path"].startswith(prefix + "/"):
                    path = scope["path"][len(prefix) :]
                    scope = {**scope, "path": path, "raw_path": path.encode()}
                    token = _fixed.set(decision)
                    try:
                        await self.app(scope, receive, send)
                    finally:
                        _fixed.reset(token)
                    return
        await self.app(scope, receive, send)


def app_factory() -> ASGIApp:
    """meterwall for the settings in the environment, with the no-check paths."""
    settings = load_settings()
    configure_logging(settings.ops.log_format, settings.ops.log_level)
    app = create_app(settings)
    services = app.state.services
    app.state.services = replace(
        services, access=FixedOrReal(services.access), readers=AnonymousOrReal(services.readers)
    )
    return Switch(app)


def main(port: int, workers: int) -> None:
    """Serve like ``meterwall serve`` does (same uvicorn options)."""
    uvicorn.run(
        "pageapp:app_factory",
        factory=True,
        app_dir=str(Path(__file__).parent),
        host="127.0.0.1",
        port=port,
        workers=workers,
        **UVICORN_OPTIONS,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
