"""Prometheus metrics, and the ``/metrics`` endpoint that serves them.

Each app owns a registry, so several apps in one process (as in tests) never
clash.  With several worker processes, prometheus_client's multiprocess mode
is used: ``meterwall serve --workers N`` points ``PROMETHEUS_MULTIPROC_DIR``
at a fresh temporary folder before the workers start, every worker writes its
samples there, and whichever worker answers ``/metrics`` adds them all up.
"""

from __future__ import annotations

import hmac
import os
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from meterwall.web.client import client_ip, in_networks

if TYPE_CHECKING:
    from meterwall.app import Services

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""The environment variable that switches prometheus_client to multiprocess mode."""

OUTCOMES = ("granted", "metered", "regwall", "paywall", "crawler")
FAILURE_POLICIES = ("open", "closed")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def method_label(method: str) -> str:
    """The method as a label value; unknown methods share one value to bound cardinality."""
    return method if method in METHODS else "OTHER"


class Metrics:
    """Every metric meterwall exports."""

    def __init__(self) -> None:
        self.multiprocess_dir = os.environ.get(MULTIPROCESS_ENV) or None
        registry = CollectorRegistry(auto_describe=True)
        self.registry = registry
        self.decisions = Counter(
            "meterwall_decisions",
            "Access decisions, by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.meter_seconds = Histogram(
            "meterwall_meter_store_seconds",
            "Time spent in meter store calls, by operation (failed calls included).",
            ["operation"],
            buckets=_STORE_BUCKETS,
            registry=registry,
        )
        self.meter_errors = Counter(
            "meterwall_meter_store_errors",
            "Meter store calls that failed (unreachable, timed out), by operation.",
            ["operation"],
            registry=registry,
        )
        self.meter_fallbacks = Counter(
            "meterwall_meter_fallbacks",
            "Requests answered by the meter_failure policy because the meter store failed.",
            ["policy"],
            registry=registry,
        )
        self.requests = Counter(
            "meterwall_http_requests",
            "HTTP requests, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "meterwall_http_request_duration_seconds",
            "Time from the request's arrival to the end of its response, by route template.",
            ["method", "route"],
            buckets=_HTTP_BUCKETS,
            registry=registry,
        )
        self.bodies_not_found = Counter(
            "meterwall_proxy_body_not_found",
            "Upstream article pages whose body was not found, so each was gated whole "
            "(set proxy.body_selector for them).",
            registry=registry,
        )
        for outcome in OUTCOMES:
            self.decisions.labels(outcome)
        for policy in FAILURE_POLICIES:
            self.meter_fallbacks.labels(policy)
        # Looking a labelled child up costs more than counting; the label values are
        # bounded (methods, route templates, statuses), so each is looked up once.
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished HTTP request."""
        label = method_label(method)
        children = self._request_children.get((label, route, status))
        if children is None:
            children = (
                self.requests.labels(label, route, str(status)),
                self.request_seconds.labels(label, route),
            )
            self._request_children[(label, route, status)] = children
        counter, histogram = children
        counter.inc()
        histogram.observe(seconds)

    def render(self) -> bytes:
        """The metrics in Prometheus' text format (summed over workers in multiprocess mode)."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry)


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _authorised(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


async def metrics_endpoint(request: Request) -> Response:
    """``/metrics``: the Prometheus exposition, behind a bearer token when one is configured,
    and otherwise only for clients in ``ops.metrics_networks`` (loopback by default)."""
    services = _services(request)
    settings = services.settings
    token = settings.ops.metrics_token
    if token is not None and not _authorised(request, token.get_secret_value()):
        return JSONResponse(
            {"error": "unauthorised", "detail": "send the metrics token as a Bearer token"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
        )
    if token is None and not in_networks(
        client_ip(request, settings.trusted_proxies, settings.client_ip_header),
        settings.ops.metrics_networks,
    ):
        return JSONResponse(
            {
                "error": "forbidden",
                "detail": "metrics are served to ops.metrics_networks or with ops.metrics_token",
            },
            status_code=403,
            headers={"Cache-Control": "no-store"},
        )
    body = await run_in_threadpool(services.metrics.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
