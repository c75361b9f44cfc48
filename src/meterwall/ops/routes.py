"""The operations endpoints: readiness and metrics (liveness is ``/healthz`` on the site)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from meterwall.ops.health import readyz
from meterwall.ops.metrics import metrics_endpoint
from meterwall.settings import OpsSettings


def ops_routes(ops: OpsSettings) -> list[BaseRoute]:
    """``/readyz``, and ``/metrics`` unless metrics are switched off."""
    found: list[BaseRoute] = [Route("/readyz", readyz, name="readyz")]
    if ops.metrics:
        found.append(Route("/metrics", metrics_endpoint, name="metrics"))
    return found
