"""The request observer: request ids, the per-request log line and the HTTP metrics."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from meterwall.ops.context import current
from meterwall.ops.metrics import Metrics
from meterwall.ops.middleware import RequestObserver


async def item(request: Request) -> Response:
    context = current()
    assert context is not None
    context.outcome = "metered"
    return PlainTextResponse(request.path_params["id"])


async def boom(_request: Request) -> Response:
    raise RuntimeError("boom")


def build(trusted: tuple[str, ...] = ()) -> tuple[Starlette, Metrics]:
    metrics = Metrics()
    app = Starlette(routes=[Route("/items/{id}", item), Route("/boom", boom)])
    app.add_middleware(RequestObserver, metrics=metrics, trusted_proxies=trusted)
    return app, metrics


def client(app: Starlette, peer: str = "203.0.113.9") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 5555), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def count(metrics: Metrics, route: str, status: str, method: str = "GET") -> float:
    value = metrics.registry.get_sample_value(
        "meterwall_http_requests_total", {"method": method, "route": route, "status": status}
    )
    return value or 0.0


async def test_each_response_carries_a_fresh_request_id() -> None:
    app, _ = build()
    async with client(app) as c:
        first = await c.get("/items/1")
        second = await c.get("/items/1")
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert ids[0] != ids[1]


async def test_a_request_id_from_a_trusted_proxy_is_kept() -> None:
    app, _ = build(trusted=("10.0.0.0/8",))
    async with client(app, peer="10.1.2.3") as c:
        response = await c.get("/items/1", headers={"X-Request-ID": "edge-42.a:b"})
    assert response.headers["x-request-id"] == "edge-42.a:b"


async def test_a_request_id_from_anyone_else_is_replaced() -> None:
    app, _ = build(trusted=("10.0.0.0/8",))
    async with client(app, peer="198.51.100.7") as c:
        response = await c.get("/items/1", headers={"X-Request-ID": "chosen-by-client"})
    assert response.headers["x-request-id"] != "chosen-by-client"


@given(st.text(min_size=1, max_size=300).filter(lambda v: v.isprintable()))
async def test_a_trusted_but_malformed_request_id_is_replaced(value: str) -> None:
    app, _ = build(trusted=("10.0.0.0/8",))
    async with client(app, peer="10.0.0.1") as c:
        response = await c.get("/items/1", headers={"X-Request-ID": value.encode("utf-8")})
    kept = response.headers["x-request-id"] == value.strip()
    assert kept == bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}", value.strip()))


async def test_one_log_line_per_request_with_route_status_duration_and_outcome(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, _ = build()
    with caplog.at_level(logging.INFO, logger="meterwall.request"):
        async with client(app) as c:
            response = await c.get("/items/7?gift=secret-token")
    lines = [r for r in caplog.records if r.name == "meterwall.request"]
    assert len(lines) == 1
    fields = lines[0].fields  # type: ignore[attr-defined]
    assert fields["request_id"] == response.headers["x-request-id"]
    assert fields["method"] == "GET"
    assert fields["route"] == "/items/{id}"
    assert fields["path"] == "/items/7"
    assert fields["status"] == 200
    assert fields["duration_ms"] >= 0
    assert fields["outcome"] == "metered"
    assert "secret-token" not in repr(fields)


async def test_requests_are_counted_by_route_template_not_by_path() -> None:
    app, metrics = build()
    async with client(app) as c:
        for n in range(3):
            await c.get(f"/items/{n}")
        await c.get("/nowhere")
        await c.request("BREW", "/items/1")
    assert count(metrics, "/items/{id}", "200") == 3
    assert count(metrics, "unmatched", "404") == 1
    assert count(metrics, "/items/{id}", "405", method="OTHER") == 1


async def test_an_unhandled_error_is_logged_and_counted_as_a_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, metrics = build()
    with caplog.at_level(logging.INFO, logger="meterwall.request"):
        async with client(app) as c:
            response = await c.get("/boom")
    assert response.status_code == 500
    assert count(metrics, "/boom", "500") == 1
    line = next(r for r in caplog.records if r.name == "meterwall.request")
    assert line.levelno == logging.ERROR
    assert line.fields["status"] == 500  # type: ignore[attr-defined]
