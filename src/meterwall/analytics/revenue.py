"""Revenue: subscribers and monthly recurring revenue now, and new, cancelled and churn per period.

The snapshot (subscribers, MRR) is read from the subscriptions table.  The
flows come from the ``subscribed`` and ``cancelled`` events: billing records
``subscribed`` when a checkout succeeds (or a cancellation is taken back) and
``cancelled`` when a reader cancels, which takes effect at the end of the
paid period.  So the per-period counts are of *staying* subscribers (those
who have not asked to cancel): today's count, walked back through the flows,
gives each period's number at its start, and churn is the period's
cancellations over that number.  A subscription lost to failed payments is
not a cancellation; it leaves the subscriber count without entering churn.
MRR is counted at each plan's list price (a yearly plan as a twelfth), from
the plans in force; subscriptions in a trial are subscribers but not yet
revenue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.analytics.events import EventKind
from meterwall.analytics.periods import Grain, label, period_start, periods
from meterwall.settings import OfferSettings
from meterwall.storage.schema import events, subscriptions

SUBSCRIBER_STATUSES = frozenset({"active", "trialing", "past_due"})
PAYING_STATUSES = frozenset({"active", "past_due"})


def monthly_price(offer: OfferSettings) -> Decimal:
    """What one subscription to ``offer`` brings in per month, at list price."""
    return offer.price if offer.interval == "month" else offer.price / 12


@dataclass(frozen=True, slots=True)
class PlanLine:
    """Subscribers and MRR of one plan."""

    offer_id: str
    name: str
    subscribers: int
    paying: int
    mrr: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Subscribers now."""

    subscribers: int
    trialing: int
    past_due: int
    cancelling: int
    plans: list[PlanLine]
    mrr: dict[str, Decimal]
    unknown_plans: int


@dataclass(frozen=True, slots=True)
class RevenuePeriod:
    """New, cancelled and churn in one period."""

    start: date
    label: str
    subscribers_at_start: int
    new: int
    cancelled: int
    subscribers_at_end: int
    """Staying subscribers (not cancelling) at the start and end of the period."""

    @property
    def churn(self) -> float | None:
        """Cancellations over subscribers at the start (None with none at the start)."""
        return self.cancelled / self.subscribers_at_start if self.subscribers_at_start else None


@dataclass(frozen=True, slots=True)
class Revenue:
    """The revenue page."""

    snapshot: Snapshot
    periods: list[RevenuePeriod]
    new: int
    cancelled: int


def build_snapshot(
    rows: Iterable[tuple[str, str, bool]], offers: Sequence[OfferSettings]
) -> Snapshot:
    """The snapshot of ``(offer_id, status, cancel_at_period_end)`` subscription rows."""
    known = {o.id: o for o in offers}
    counts: Counter[tuple[str, str]] = Counter()
    cancelling = unknown = 0
    for offer_id, status, cancel_at_end in rows:
        if status not in SUBSCRIBER_STATUSES:
            continue
        counts[(offer_id, status)] += 1
        cancelling += bool(cancel_at_end)
        unknown += offer_id not in known
    plans: list[PlanLine] = []
    mrr: dict[str, Decimal] = {}
    for offer_id in sorted({oid for oid, _ in counts}):
        offer = known.get(offer_id)
        subscribers = sum(n for (oid, _), n in counts.items() if oid == offer_id)
        paying = sum(
            n for (oid, st), n in counts.items() if oid == offer_id and st in PAYING_STATUSES
        )
        amount = monthly_price(offer) * paying if offer else Decimal(0)
        currency = offer.currency if offer else ""
        if offer:
            mrr[currency] = mrr.get(currency, Decimal(0)) + amount
        plans.append(
            PlanLine(
                offer_id=offer_id,
                name=offer.name if offer else "(a plan no longer offered)",
                subscribers=subscribers,
                paying=paying,
                mrr=amount.quantize(Decimal("0.01")),
                currency=currency,
            )
        )
    return Snapshot(
        subscribers=sum(counts.values()),
        trialing=sum(n for (_, st), n in counts.items() if st == "trialing"),
        past_due=sum(n for (_, st), n in counts.items() if st == "past_due"),
        cancelling=cancelling,
        plans=plans,
        mrr={c: v.quantize(Decimal("0.01")) for c, v in mrr.items()},
        unknown_plans=unknown,
    )


def build_periods(
    flows: Iterable[tuple[str, str, int]],
    subscribers_now: int,
    first: date,
    last: date,
    today: date,
    grain: Grain,
) -> list[RevenuePeriod]:
    """Periods from ``first`` to ``last`` out of ``(day, kind, count)`` flows since ``first``.

    Subscribers are walked back from ``subscribers_now`` (today) through
    every flow up to today, so a range ending in the past is still right.
    """
    new: Counter[date] = Counter()
    gone: Counter[date] = Counter()
    for day_text, kind, count in flows:
        start = period_start(date.fromisoformat(day_text), grain)
        if kind == EventKind.SUBSCRIBED.value:
            new[start] += count
        elif kind == EventKind.CANCELLED.value:
            gone[start] += count
    starts = periods(first, max(last, today), grain)
    out: list[RevenuePeriod] = []
    at_end = subscribers_now
    for start in reversed(starts):
        at_start = max(0, at_end - new[start] + gone[start])
        if start <= last:
            out.append(
                RevenuePeriod(
                    start=start,
                    label=label(start, grain),
                    subscribers_at_start=at_start,
                    new=new[start],
                    cancelled=gone[start],
                    subscribers_at_end=at_end,
                )
            )
        at_end = at_start
    out.reverse()
    return out


async def revenue_report(
    engine: AsyncEngine,
    offers: Sequence[OfferSettings],
    first: date,
    last: date,
    today: date,
    grain: Grain,
) -> Revenue:
    """The revenue page's numbers."""
    flows_query = (
        select(events.c.day, events.c.kind, func.count().label("n"))
        .where(
            events.c.day >= period_start(first, grain).isoformat(),
            events.c.kind.in_([EventKind.SUBSCRIBED.value, EventKind.CANCELLED.value]),
        )
        .group_by(events.c.day, events.c.kind)
    )
    subs_query = select(
        subscriptions.c.offer_id, subscriptions.c.status, subscriptions.c.cancel_at_period_end
    )
    async with engine.connect() as conn:
        flows = [(r.day, r.kind, int(r.n)) for r in await conn.execute(flows_query)]
        rows = [
            (r.offer_id, r.status, bool(r.cancel_at_period_end))
            for r in await conn.execute(subs_query)
        ]
    snapshot = build_snapshot(rows, offers)
    in_range = [(d, k, n) for d, k, n in flows if first.isoformat() <= d <= last.isoformat()]
    return Revenue(
        snapshot=snapshot,
        periods=build_periods(
            flows, snapshot.subscribers - snapshot.cancelling, first, last, today, grain
        ),
        new=sum(n for _d, k, n in in_range if k == EventKind.SUBSCRIBED.value),
        cancelled=sum(n for _d, k, n in in_range if k == EventKind.CANCELLED.value),
    )
