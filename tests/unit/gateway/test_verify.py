"""The verify phase: a cut response still carrying gated text is stopped and counted."""

from __future__ import annotations

import json

from prometheus_client import CollectorRegistry

from meterwall.gateway.text import Fingerprint
from meterwall.gateway.verify import Verifier
from tests.factories import gated_fragments
from tests.fixtures.upstream.site import ARTICLES

ARTICLE = ARTICLES[1]
GATED = Fingerprint.of(gated_fragments(ARTICLE), [ARTICLE.body[0].text])


def _stopped(registry: CollectorRegistry, kind: str) -> float:
    value = registry.get_sample_value(
        "meterwall_proxy_leaks_stopped_total", {"representation": kind}
    )
    return value or 0.0


def test_a_clean_cut_passes() -> None:
    registry = CollectorRegistry()
    body = json.dumps({"lede": ARTICLE.body[0].text}).encode()
    assert Verifier(registry).safe(body, GATED, "json", "/x")
    assert _stopped(registry, "json") == 0


def test_gated_text_in_any_reading_is_stopped_and_counted() -> None:
    registry = CollectorRegistry()
    verifier = Verifier(registry)
    escaped = json.dumps({"x": f"<p>{gated_fragments(ARTICLE)[3]}</p>"}).replace("<", "\\u003c")
    assert not verifier.safe(escaped.encode(), GATED, "json", "/x")
    assert not verifier.safe(gated_fragments(ARTICLE)[5].encode(), GATED, "text", "/y")
    assert _stopped(registry, "json") == 1
    assert _stopped(registry, "text") == 1


def test_an_empty_fingerprint_proves_nothing() -> None:
    assert not Verifier().safe(b"anything", Fingerprint.of([]), "json", "/x")
