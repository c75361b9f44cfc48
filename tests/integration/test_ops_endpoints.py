"""Health, readiness, metrics and the request log, as an operator's tools see them."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from meterwall.app import create_app
from tests.backends import free_port, unavailable
from tests.factories import make_settings

TOKEN = "a-metrics-token-of-some-length"


def http(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def closed_redis() -> str:
    """A Redis URL on a loopback port where nothing listens."""
    return f"redis://127.0.0.1:{free_port()}/0"


async def scrape(c: httpx.AsyncClient, **headers: str) -> dict[tuple[str, frozenset[Any]], float]:
    response = await c.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def sample(found: dict[tuple[str, frozenset[Any]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def test_liveness_and_readiness_when_everything_answers(app: Starlette) -> None:
    async with http(app) as c:
        live = await c.get("/healthz")
        ready = await c.get("/readyz")
    assert live.status_code == 200
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["meter_store"]["ok"] is True
    assert ready.headers["cache-control"] == "no-store"


async def test_readiness_names_the_meter_store_when_redis_is_down(
    app_factory: Callable[..., Any],
) -> None:
    url = closed_redis()
    app = await app_factory(meter_store="redis", redis_url=url)
    async with http(app) as c:
        ready = await c.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["meter_store"]
    assert body["checks"]["database"]["ok"] is True
    assert url.split(":")[-1].split("/")[0] not in ready.text  # no connection details


async def test_readiness_names_the_database_when_it_is_down(tmp_path: Path) -> None:
    dead = f"postgresql+asyncpg://meterwall@127.0.0.1:{free_port()}/meterwall"
    app = create_app(make_settings(tmp_path, database_url=dead, auto_migrate=False))
    try:
        async with http(app) as c:
            ready = await c.get("/readyz")
    finally:
        await app.state.services.engine.dispose()
    assert ready.status_code == 503
    assert "database" in ready.json()["failing"]


async def test_readiness_comes_back_by_itself_when_redis_starts(
    app_factory: Callable[..., Any], tmp_path: Path
) -> None:
    server = shutil.which("redis-server")
    if server is None:
        unavailable("redis-server is not installed")
    port = free_port()
    app = await app_factory(meter_store="redis", redis_url=f"redis://127.0.0.1:{port}/0")
    async with http(app) as c:
        assert (await c.get("/readyz")).status_code == 503
        redis = await asyncio.create_subprocess_exec(
            str(server),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            status = 503
            while status != 200 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                status = (await c.get("/readyz")).status_code
            assert status == 200
        finally:
            redis.terminate()
            await asyncio.wait_for(redis.wait(), 10)


@pytest.fixture
async def patient_app(app_factory: Callable[..., Any]) -> Starlette:
    """An app whose meter waits long enough never to fall back on a busy machine."""
    return await app_factory(store_timeout_ms=30_000)


async def test_metrics_count_decisions_by_outcome_and_time_the_meter(
    patient_app: Starlette,
) -> None:
    app = patient_app
    async with http(app) as c:
        for n in range(1, 7):  # five metered reads, then the paywall
            await c.get(f"/articles/story-{n}")
        await c.get("/articles/story-9")  # free
        found = await scrape(c)
    assert sample(found, "meterwall_decisions_total", outcome="metered") == 5
    assert sample(found, "meterwall_decisions_total", outcome="paywall") == 1
    assert sample(found, "meterwall_decisions_total", outcome="granted") == 1
    count = "meterwall_meter_store_seconds_count"
    assert sample(found, count, operation="check_and_record") == 6
    requests = "meterwall_http_requests_total"
    assert sample(found, requests, method="GET", route="/articles/{slug}", status="200") == 7


@pytest.mark.parametrize(("policy", "outcome"), [("closed", "paywall"), ("open", "granted")])
async def test_a_meter_outage_gives_pages_and_counts_the_fallback(
    app_factory: Callable[..., Any], policy: str, outcome: str
) -> None:
    app = await app_factory(meter_store="redis", redis_url=closed_redis(), meter_failure=policy)
    async with http(app) as c:
        page = await c.get("/articles/story-1")
        found = await scrape(c)
    assert page.status_code == 200
    assert sample(found, "meterwall_meter_fallbacks_total", policy=policy) == 1
    errors = "meterwall_meter_store_errors_total"
    assert sample(found, errors, operation="check_and_record") == 1
    assert sample(found, "meterwall_decisions_total", outcome=outcome) == 1


async def test_metrics_behind_a_token_need_it(app_factory: Callable[..., Any]) -> None:
    app = await app_factory(ops={"metrics_token": TOKEN})
    async with http(app) as c:
        anonymous = await c.get("/metrics")
        wrong = await c.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        found = await scrape(c, Authorization=f"Bearer {TOKEN}")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert "meterwall" not in anonymous.text
    assert wrong.status_code == 401
    assert ("meterwall_decisions_total", frozenset({("outcome", "metered")})) in found


async def test_metrics_can_be_switched_off(app_factory: Callable[..., Any]) -> None:
    app = await app_factory(ops={"metrics": False})
    async with http(app) as c:
        assert (await c.get("/metrics")).status_code == 404


async def test_each_request_logs_one_json_ready_line_with_its_id_and_decision(
    patient_app: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    app = patient_app
    with caplog.at_level(logging.INFO, logger="meterwall.request"):
        async with http(app) as c:
            page = await c.get("/articles/story-2?gift=private-token")
    (line,) = [r for r in caplog.records if r.name == "meterwall.request"]
    fields = line.fields  # type: ignore[attr-defined]
    assert fields["request_id"] == page.headers["x-request-id"]
    assert fields["route"] == "/articles/{slug}"
    assert fields["status"] == 200
    assert fields["outcome"] == "metered"
    assert "private-token" not in json.dumps(fields)


async def test_metrics_without_a_token_only_for_the_configured_networks(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory()
    outside = httpx.ASGITransport(app=app, client=("203.0.113.9", 4000))
    async with httpx.AsyncClient(transport=outside, base_url="http://testserver") as c:
        refused = await c.get("/metrics")
        spoofed = await c.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    async with http(app) as c:
        local = await c.get("/metrics")
    assert refused.status_code == 403
    assert spoofed.status_code == 403, "a forwarding header from an untrusted peer is ignored"
    assert "meterwall" not in refused.text
    assert local.status_code == 200
    opened = await app_factory(ops={"metrics_networks": ["203.0.113.0/24"]})
    outside = httpx.ASGITransport(app=opened, client=("203.0.113.9", 4000))
    async with httpx.AsyncClient(transport=outside, base_url="http://testserver") as c:
        assert (await c.get("/metrics")).status_code == 200


async def test_metrics_networks_must_be_networks(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        make_settings(tmp_path, ops={"metrics_networks": ["intranet"]})
