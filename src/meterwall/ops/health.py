"""Readiness: ``/readyz`` answers 200 only when every store this app needs answers.

A load balancer takes an instance out of rotation on a 503 and puts it back
once the stores answer again; nothing needs restarting.  The body names each
store and whether it answered, never connection details (those go to the log).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from meterwall.app import Services

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[None]]


def database_check(engine: AsyncEngine) -> Check:
    """A check that the database answers a trivial query."""

    async def check() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    return check


async def _run(name: str, check: Check, limit: float) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), limit)
    except TimeoutError:
        log.warning("readiness: %s did not answer within %.1f s", name, limit)
        return {"ok": False, "error": f"no answer within {limit:g} s"}
    except Exception as exc:
        log.warning("readiness: %s failed: %s: %s", name, type(exc).__name__, exc)
        return {"ok": False, "error": "unreachable"}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}


async def readiness(checks: dict[str, Check], limit: float) -> tuple[bool, dict[str, Any]]:
    """Run every check at once, each for at most ``limit`` seconds.

    Returns whether all passed, and the report body.
    """
    names = list(checks)
    results = await asyncio.gather(*(_run(n, checks[n], limit) for n in names))
    report = dict(zip(names, results, strict=True))
    failing = [name for name, result in report.items() if not result["ok"]]
    body: dict[str, Any] = {"status": "unavailable" if failing else "ready", "checks": report}
    if failing:
        body["failing"] = failing
    return not failing, body


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def readyz(request: Request) -> Response:
    """``/readyz``: 200 when the database and the meter store answer, else 503 naming them."""
    services = _services(request)
    ready, body = await readiness(
        {
            "database": database_check(services.engine),
            "meter_store": services.access.meter.ping,
        },
        services.settings.ops.readiness_timeout_seconds,
    )
    return JSONResponse(
        body, status_code=200 if ready else 503, headers={"Cache-Control": "no-store"}
    )
