"""What a subscription's state entitles, discounts on the first payment, and plan ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterwall.access.model import Entitlement
from meterwall.billing.model import entitlement_of, past_due_since
from meterwall.billing.ports import PaymentError
from meterwall.billing.service import first_payment_credit, minor_units, plan_for
from meterwall.billing.stripe import snapshot
from meterwall.settings import OfferSettings

NOW = datetime(2026, 11, 15, tzinfo=UTC)
GRACE = timedelta(days=7)
STATUSES = [
    "active",
    "trialing",
    "past_due",
    "canceled",
    "unpaid",
    "incomplete",
    "incomplete_expired",
]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("active", Entitlement.SUBSCRIPTION),
        ("trialing", Entitlement.TRIAL),
        ("canceled", None),
        ("unpaid", None),
        ("incomplete", None),
        ("incomplete_expired", None),
    ],
)
def test_status_entitlements(status: str, expected: Entitlement | None) -> None:
    assert entitlement_of(status, None, NOW, GRACE) is expected


@given(st.integers(0, 30 * 86_400))
def test_past_due_keeps_access_only_during_the_grace_period(seconds: int) -> None:
    since = NOW - timedelta(seconds=seconds)
    found = entitlement_of("past_due", since, NOW, GRACE)
    assert (found is Entitlement.SUBSCRIPTION) == (seconds <= GRACE.total_seconds())


@given(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=8))
def test_past_due_since_is_the_start_of_the_current_spell(statuses: list[str]) -> None:
    since = None
    previous = None
    started = None
    for step, status in enumerate(statuses):
        moment = NOW + timedelta(hours=step)
        since = past_due_since(status, previous, since, moment)
        if status == "past_due" and previous != "past_due":
            started = moment
        assert since == (started if status == "past_due" else None)
        previous = status


def test_money_in_minor_units() -> None:
    assert minor_units(Decimal("11"), "USD") == 1100
    assert minor_units(Decimal("10.99"), "EUR") == 1099
    assert minor_units(Decimal("1200"), "JPY") == 1200


def test_a_new_price_is_a_new_plan() -> None:
    monthly = plan_for(OfferSettings())
    assert monthly.amount == 1100 and monthly.interval == "month"
    assert plan_for(OfferSettings(price=Decimal("12"))).plan_id != monthly.plan_id


def test_coupons_and_introductory_prices() -> None:
    offer = OfferSettings(coupons={"HALF": 50, "ALL": 100}, intro_price=Decimal("1"))
    assert first_payment_credit(OfferSettings(), None) is None
    assert first_payment_credit(offer, None) == (1000, "Introductory price")
    assert first_payment_credit(offer, "all") == (1100, "Coupon ALL")
    assert first_payment_credit(offer, " half ") == (1000, "Introductory price")
    with pytest.raises(PaymentError, match="not valid"):
        first_payment_credit(offer, "FREE")


def test_snapshot_reads_both_api_shapes_and_the_emulators_trials() -> None:
    older = snapshot(
        {
            "id": "sub_1",
            "customer": "cus_1",
            "status": "active",
            "current_period_end": 1_800_000_000,
            "metadata": {"meterwall_account": "a1", "meterwall_offer": "digital-monthly"},
        }
    )
    assert older.current_period_end == datetime.fromtimestamp(1_800_000_000, UTC)
    assert (older.account_id, older.offer_id) == ("a1", "digital-monthly")
    newer = snapshot(
        {
            "id": "sub_2",
            "customer": {"id": "cus_2"},
            "status": "past_due",
            "items": {"data": [{"current_period_end": 1_800_000_100}]},
            "latest_invoice": {"payment_intent": {"last_payment_error": {"message": "Declined."}}},
        }
    )
    assert newer.customer_id == "cus_2" and newer.payment_error == "Declined."
    assert newer.current_period_end == datetime.fromtimestamp(1_800_000_100, UTC)
    trial = snapshot({"id": "sub_3", "status": "incomplete", "trial_end": 1_800_000_000})
    assert trial.status == "trialing"
    unpaid = snapshot({"id": "sub_4", "status": "incomplete", "latest_invoice": "in_1"})
    assert unpaid.status == "incomplete"
