"""Verify phase: the last check before a cut response goes to a reader who is not entitled.

Whatever cut it (a JSON cutter, a text cutter, a fragment scrub), the body
about to be sent is searched for the gated text it must not carry, in every
reading a browser or a script could make of it (escaped, encoded, marked
up).  On a hit the proxy sends the refusal instead, logs which response it
was, and counts it (``meterwall_proxy_leaks_stopped_total``), so a cutter
that misses a shape fails closed and shows up on the dashboards.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter

from meterwall.gateway.text import Fingerprint

log = logging.getLogger(__name__)


class Verifier:
    """Checks cut responses against the gated text, counting those it stops."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self._stopped = (
            Counter(
                "meterwall_proxy_leaks_stopped",
                "Cut proxy responses that still carried gated text and were refused instead, "
                "by representation.",
                ["representation"],
                registry=registry,
            )
            if registry is not None
            else None
        )

    def safe(self, body: bytes, fingerprint: Fingerprint, kind: str, target: str) -> bool:
        """Whether ``body`` may be sent: it carries none of ``fingerprint``'s gated text.

        An empty fingerprint proves nothing, so it fails the check too.
        """
        if not fingerprint:
            log.warning("nothing known to check the %s answer for %s; refusing it", kind, target)
            return False
        if not fingerprint.found_in(body.decode("utf-8", errors="replace")):
            return True
        log.error("gated text left in the %s answer for %s; refusing it", kind, target)
        if self._stopped is not None:
            self._stopped.labels(kind).inc()
        return False
