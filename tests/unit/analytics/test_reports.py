"""The report arithmetic, on plain rows worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from meterwall.analytics.article_report import ArticleRow, attribute, sort_rows
from meterwall.analytics.funnel import build_funnel
from meterwall.analytics.identities import Links
from meterwall.analytics.periods import Grain, default_range, label, period_start, periods
from meterwall.analytics.revenue import build_periods, build_snapshot, monthly_price
from meterwall.settings import OfferSettings


def test_periods() -> None:
    wednesday = date(2026, 11, 18)
    assert period_start(wednesday, Grain.WEEK) == date(2026, 11, 16)
    assert period_start(wednesday, Grain.MONTH) == date(2026, 11, 1)
    assert periods(date(2026, 11, 30), date(2027, 1, 2), Grain.MONTH) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
    ]
    assert default_range(wednesday, Grain.DAY) == (date(2026, 10, 20), wednesday)
    assert default_range(wednesday, Grain.WEEK)[0] == date(2026, 8, 31)
    assert default_range(wednesday, Grain.MONTH)[0] == date(2025, 12, 1)
    assert label(date(2026, 11, 16), Grain.WEEK) == "week of 2026-11-16"


# Two days.  Day 1: r1 and r2 view; r1 is metered; r2 hits the wall twice; r2 registers
# as account a2 (linked), a2 starts checkout and subscribes.  Day 2: r1 views again and
# hits the wall; r3 views; a2 views as a signed-in reader (the same person as r2).
ROWS = [
    ("2026-11-01", "page_view", "r1"),
    ("2026-11-01", "meter_notice", "r1"),
    ("2026-11-01", "page_view", "r2"),
    ("2026-11-01", "paywall_impression", "r2"),
    ("2026-11-01", "regwall_impression", "r2"),
    ("2026-11-01", "registration", "a2"),
    ("2026-11-01", "checkout_started", "a2"),
    ("2026-11-01", "subscribed", "a2"),
    ("2026-11-02", "page_view", "r1"),
    ("2026-11-02", "paywall_impression", "r1"),
    ("2026-11-02", "page_view", "r3"),
    ("2026-11-02", "page_view", "a2"),
    ("2026-11-02", "gift_link_opened", "r3"),
    ("2026-10-31", "page_view", "r9"),
]


def test_the_funnel_counts_people_per_stage() -> None:
    funnel = build_funnel(
        ROWS, date(2026, 11, 1), date(2026, 11, 2), Grain.DAY, Links([("a2", "r2")])
    )
    day1, day2 = funnel.rows
    assert day1.counts == {
        "visitors": 2,
        "metered": 2,
        "wall": 1,
        "registered": 1,
        "checkout": 1,
        "subscribed": 1,
    }
    assert day2.counts["visitors"] == 3
    assert day2.counts["wall"] == 1
    # Over both days r1, r2 (= a2) and r3 visited: 3 people, not 4.
    # Metered readers include everyone the meter walled: r1 and r2.
    assert funnel.totals == {
        "visitors": 3,
        "metered": 2,
        "wall": 2,
        "registered": 1,
        "checkout": 1,
        "subscribed": 1,
    }
    assert funnel.conversion(0) is None
    assert funnel.conversion(2) == pytest.approx(1.0)
    assert funnel.conversion(3) == pytest.approx(0.5)
    assert funnel.overall() == pytest.approx(1 / 3)


def test_a_weekly_funnel_counts_a_person_once_per_week() -> None:
    funnel = build_funnel(ROWS, date(2026, 10, 26), date(2026, 11, 8), Grain.WEEK)
    assert [row.start for row in funnel.rows] == [date(2026, 10, 26), date(2026, 11, 2)]
    first, second = funnel.rows
    assert first.counts["visitors"] == 3  # r9, r1, r2 (a2 did not view that week)
    assert second.counts["visitors"] == 3  # r1, r3, a2


def test_an_empty_funnel_has_no_rates() -> None:
    funnel = build_funnel([], date(2026, 11, 1), date(2026, 11, 1), Grain.DAY)
    assert funnel.overall() is None
    assert funnel.conversion(1) is None


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def test_a_subscription_goes_to_the_last_wall_before_it() -> None:
    links = Links([("acct-x", "anon-x"), ("acct-y", "anon-y")])
    walls = [
        ("anon-x", at(1), "story-1"),
        ("anon-x", at(2), "story-2"),
        ("anon-x", at(5), "story-9"),  # after the subscription: not the cause
        ("anon-y", at(3), "story-3"),
    ]
    subs = [
        ("acct-x", at(3), ""),
        ("acct-y", at(4), "story-7"),
        ("acct-z", at(4), "story-5"),  # never hit the wall: its own article
        ("acct-q", at(4), ""),  # nothing to attribute
    ]
    assert attribute(subs, walls, links) == {"story-2": 1, "story-3": 1, "story-5": 1}


def test_sorting_articles() -> None:
    rows = [
        ArticleRow("a", "", 10, 5, 4, 2, 1),
        ArticleRow("b", "", 30, 9, 2, 0, 0),
        ArticleRow("c", "", 20, 7, 8, 4, 1),
    ]
    assert [r.article_id for r in sort_rows(rows, "views")] == ["b", "c", "a"]
    assert [r.article_id for r in sort_rows(rows, "views", descending=False)] == ["a", "c", "b"]
    # b has no conversion (nobody at its wall): it goes last either way.
    assert [r.article_id for r in sort_rows(rows, "conversion")] == ["a", "c", "b"]
    assert [r.article_id for r in sort_rows(rows, "conversion", False)] == ["c", "a", "b"]
    assert [r.article_id for r in sort_rows(rows, "nonsense")] == ["c", "a", "b"]


MONTHLY = OfferSettings(id="m", name="Monthly", price=Decimal("11"))
YEARLY = OfferSettings(id="y", name="Yearly", price=Decimal("120"), interval="year")


def test_the_revenue_snapshot() -> None:
    rows = [
        ("m", "active", False),
        ("m", "active", True),
        ("m", "trialing", False),
        ("y", "past_due", False),
        ("y", "canceled", False),
        ("gone", "active", False),
        ("m", "incomplete", False),
    ]
    snap = build_snapshot(rows, [MONTHLY, YEARLY])
    assert (snap.subscribers, snap.trialing, snap.past_due, snap.cancelling) == (5, 1, 1, 1)
    assert snap.unknown_plans == 1
    # Paying: two monthly at 11, one yearly at 120/12 = 10; the trial pays nothing yet.
    assert snap.mrr == {"USD": Decimal("32.00")}
    assert monthly_price(YEARLY) == Decimal(10)
    by_plan = {p.offer_id: (p.subscribers, p.paying, p.mrr) for p in snap.plans}
    assert by_plan == {
        "gone": (1, 1, Decimal("0.00")),
        "m": (3, 2, Decimal("22.00")),
        "y": (1, 1, Decimal("10.00")),
    }


def test_revenue_periods_walk_back_from_today() -> None:
    # Subscribers today: 10.  Flows: Nov 2: +3; Nov 3: +1 -2; Nov 5 (after the range): +2.
    flows = [
        ("2026-11-02", "subscribed", 3),
        ("2026-11-03", "subscribed", 1),
        ("2026-11-03", "cancelled", 2),
        ("2026-11-05", "subscribed", 2),
    ]
    days = build_periods(
        flows, 10, date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 5), Grain.DAY
    )
    assert [(d.subscribers_at_start, d.new, d.cancelled, d.subscribers_at_end) for d in days] == [
        (6, 3, 0, 9),
        (9, 1, 2, 8),
    ]
    assert days[1].churn == pytest.approx(2 / 9)
    never = build_periods([], 0, date(2026, 11, 1), date(2026, 11, 1), date(2026, 11, 1), Grain.DAY)
    assert never[0].churn is None
