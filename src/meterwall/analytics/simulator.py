"""The meter simulator: replay article views under candidate limits, side by side.

Every view goes through the site's own rules: :func:`meter_window` picks the
window, an in-memory meter does what the meter store's ``check_and_record``
does (an article already counted is free; a new one counts only below the
limit), and :func:`decide` gives the outcome.  A view that ends at the
paywall is a wall impression; a reader with at least one is a reader who
hits the wall; expected conversions are those readers times the conversion
rate given.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from meterwall.access.model import (
    ArticleAccess,
    CalendarMonth,
    MeterState,
    Period,
    Policy,
    ReaderState,
    RollingDays,
)
from meterwall.access.policy import decide, meter_window
from meterwall.analytics.access_logs import Hit

MONTHLY = CalendarMonth()


def period_name(period: Period) -> str:
    """``calendar month`` or ``rolling 30 days``."""
    if isinstance(period, RollingDays):
        return f"rolling {period.days} days"
    return "calendar month"


@dataclass(slots=True)
class LimitResult:
    """What one candidate limit would have done to the replayed views."""

    limit: int
    readers: int = 0
    walled_readers: int = 0
    wall_impressions: int = 0
    metered_views: int = 0
    expected_conversions: float = 0.0

    @property
    def walled_share(self) -> float:
        """The share of readers who would hit the wall."""
        return self.walled_readers / self.readers if self.readers else 0.0

    @property
    def impressions_per_walled_reader(self) -> float:
        """How often a reader who hits the wall hits it."""
        return self.wall_impressions / self.walled_readers if self.walled_readers else 0.0


@dataclass(slots=True)
class Simulation:
    """The results for every limit, and the span of time replayed."""

    period: Period
    timezone: str
    conversion_rate: float
    results: list[LimitResult]
    views: int = 0
    first: datetime | None = None
    last: datetime | None = None
    out_of_order: int = 0


@dataclass(slots=True)
class _Meter:
    """One reader's meter under one limit: article -> (window key, counted at)."""

    reads: dict[str, tuple[str, datetime]] = field(default_factory=dict)


def _check_and_record(
    meter: _Meter, window_key: str, since: datetime, article: str, limit: int, now: datetime
) -> MeterState:
    live = {a for a, (key, at) in meter.reads.items() if key == window_key and at >= since}
    if article in live:
        return MeterState(used=len(live), counted=True)
    if len(live) >= limit:
        return MeterState(used=len(live), counted=False)
    if len(meter.reads) > 4 * max(limit, 1):
        # Reads that left the window can never count again (views come in time order).
        meter.reads = {a: v for a, v in meter.reads.items() if a in live}
    meter.reads[article] = (window_key, now)
    return MeterState(used=len(live) + 1, counted=True)


def simulate(
    hits: Iterable[Hit],
    limits: Sequence[int],
    period: Period = MONTHLY,
    timezone: str = "UTC",
    conversion_rate: float = 0.02,
) -> Simulation:
    """Replay ``hits`` (in time order) under each limit.

    Views a little out of order (several server workers writing one log) are
    replayed in the order given and counted in ``out_of_order``.
    """
    if not limits:
        raise ValueError("give at least one limit")
    if not 0 <= conversion_rate <= 1:
        raise ValueError("the conversion rate is a fraction from 0 to 1, such as 0.02")
    policies = [Policy(anonymous_limit=n, period=period, timezone=timezone) for n in limits]
    results = [LimitResult(limit=n) for n in limits]
    meters: list[dict[str, _Meter]] = [{} for _ in limits]
    walled: list[set[str]] = [set() for _ in limits]
    readers: set[str] = set()
    simulation = Simulation(period, timezone, conversion_rate, results)
    for hit in hits:
        simulation.views += 1
        if simulation.last is not None and hit.at < simulation.last:
            simulation.out_of_order += 1
        else:
            simulation.last = hit.at
        if simulation.first is None or hit.at < simulation.first:
            simulation.first = hit.at
        readers.add(hit.reader)
        article = ArticleAccess(id=hit.article)
        window = meter_window(policies[0], hit.at)
        for i, policy in enumerate(policies):
            meter = meters[i].setdefault(hit.reader, _Meter())
            state = _check_and_record(
                meter, window.key, window.since, hit.article, policy.anonymous_limit, hit.at
            )
            decision = decide(article, ReaderState(hit.reader, meter=state), policy, hit.at)
            if decision.outcome == "metered":
                results[i].metered_views += 1
            elif decision.outcome in ("paywall", "regwall"):
                results[i].wall_impressions += 1
                walled[i].add(hit.reader)
    for i, result in enumerate(results):
        result.readers = len(readers)
        result.walled_readers = len(walled[i])
        result.expected_conversions = result.walled_readers * conversion_rate
    return simulation
