"""The metrics registry: what an operator scraping ``/metrics`` sees."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from meterwall.ops.metrics import OUTCOMES, Metrics, method_label


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, by name and sorted labels."""
    found = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_every_outcome_and_failure_policy_is_exported_before_it_happens() -> None:
    found = samples(Metrics())
    for outcome in OUTCOMES:
        assert found[("meterwall_decisions_total", (("outcome", outcome),))] == 0
    for policy in ("open", "closed"):
        assert found[("meterwall_meter_fallbacks_total", (("policy", policy),))] == 0


def test_a_request_is_counted_by_method_route_and_status_and_timed() -> None:
    metrics = Metrics()
    metrics.observe_request("GET", "/articles/{slug}", 200, 0.003)
    metrics.observe_request("GET", "/articles/{slug}", 200, 0.2)
    found = samples(metrics)
    labels = (("method", "GET"), ("route", "/articles/{slug}"), ("status", "200"))
    assert found[("meterwall_http_requests_total", labels)] == 2
    timing = (("method", "GET"), ("route", "/articles/{slug}"))
    assert found[("meterwall_http_request_duration_seconds_count", timing)] == 2
    fast = tuple(sorted((*timing, ("le", "0.005"))))
    assert found[("meterwall_http_request_duration_seconds_bucket", fast)] == 1


def test_unknown_methods_share_one_label_so_junk_cannot_grow_the_series() -> None:
    assert method_label("GET") == "GET"
    assert method_label("BREW") == "OTHER"
    assert method_label("get") == "OTHER"


def test_each_method_route_and_status_keeps_its_own_series_request_after_request() -> None:
    metrics = Metrics()
    for status in (200, 404, 200):
        metrics.observe_request("GET", "unmatched", status, 0.001)
    for method in ("BREW", "JUNK"):
        metrics.observe_request(method, "unmatched", 200, 0.001)
    metrics.observe_request("GET", "/healthz", 200, 0.001)
    found = samples(metrics)

    def counted(method: str, route: str, status: str) -> float:
        labels = (("method", method), ("route", route), ("status", status))
        return found[("meterwall_http_requests_total", labels)]

    assert counted("GET", "unmatched", "200") == 2
    assert counted("GET", "unmatched", "404") == 1
    assert counted("OTHER", "unmatched", "200") == 2
    assert counted("GET", "/healthz", "200") == 1
    timing = (("method", "OTHER"), ("route", "unmatched"))
    assert found[("meterwall_http_request_duration_seconds_count", timing)] == 2


def test_two_apps_in_one_process_keep_separate_counts() -> None:
    first, second = Metrics(), Metrics()
    first.decisions.labels("metered").inc()
    assert samples(first)[("meterwall_decisions_total", (("outcome", "metered"),))] == 1
    assert samples(second)[("meterwall_decisions_total", (("outcome", "metered"),))] == 0
