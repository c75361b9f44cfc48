"""Error pages: a clear page for every status, never a stack trace."""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from meterwall.metering.ports import MeterUnavailable

log = logging.getLogger(__name__)

_TITLES = {
    400: "That request could not be understood",
    403: "That is not allowed",
    404: "Page not found",
    405: "That method is not allowed here",
    408: "That request took too long",
    413: "That request is too large",
    429: "Too many requests",
}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def _render(request: Request, status: int, title: str, detail: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": title, "detail": detail}, status_code=status)
    services = getattr(request.app.state, "services", None)
    if services is None:
        return HTMLResponse(f"<h1>{title}</h1>", status_code=status)
    return services.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "error.html",
        {"status": status, "title": title, "detail": detail},
        status_code=status,
    )


async def http_error(request: Request, exc: Exception) -> Response:
    """Render an :class:`HTTPException` as a page (or JSON for the API)."""
    assert isinstance(exc, HTTPException)
    title = _TITLES.get(exc.status_code, "Something went wrong")
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else ""
    response = _render(request, exc.status_code, title, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    """Log the failure and show a calm error page."""
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return _render(
        request, 500, "Something went wrong on our side", "Please try again in a moment."
    )


STORE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    DBAPIError,
    PoolTimeout,
    MeterUnavailable,
    ConnectionError,
    TimeoutError,
    socket.gaierror,
)
"""Exceptions meaning a store (the database, the meter) is down or too slow, not a bug."""


async def store_unavailable(request: Request, exc: Exception) -> Response:
    """A store is down or slow: a calm 503 the reader can retry, not an error page."""
    log.warning("store unavailable on %s: %s: %s", request.url.path, type(exc).__name__, exc)
    response = _render(
        request,
        503,
        "Temporarily unavailable",
        "We could not reach our database just now. Please try again in a moment.",
    )
    response.headers["Retry-After"] = "5"
    return response


async def client_gone(request: Request, exc: Exception) -> Response:
    """The client went away mid-request: nothing to answer, nothing went wrong here."""
    log.info("client disconnected during %s %s", request.method, request.url.path)
    return Response(status_code=400)


def exception_handlers() -> Mapping[Any, Any]:
    """The app's exception handlers."""
    return {
        HTTPException: http_error,
        ClientDisconnect: client_gone,
        **dict.fromkeys(STORE_UNAVAILABLE, store_unavailable),
        500: server_error,
        Exception: server_error,
    }
