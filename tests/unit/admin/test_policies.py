"""Policy documents, the change log between versions, and the admin forms that build them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from starlette.datastructures import FormData

from meterwall.access.live import LivePolicy, PolicyDocument
from meterwall.admin.forms import read_experiment_form, read_policy_form
from meterwall.admin.policies import changes
from meterwall.analytics.experiments import CONTROL, Parameter
from meterwall.settings import Settings
from tests.admin_support import policy_form

BASE = PolicyDocument.from_settings(Settings(secret_key="k"))
NOW = datetime(2026, 11, 15, tzinfo=UTC)


def form_of(document: PolicyDocument, **overrides: str) -> FormData:
    """The form a browser would send for ``document``, with some fields changed."""
    return FormData(list(policy_form(document, **overrides).items()))


def test_an_unchanged_form_gives_the_same_document() -> None:
    submitted = read_policy_form(form_of(BASE))
    assert submitted.errors == []
    assert submitted.document == BASE
    assert changes(BASE, BASE) == []


def test_a_changed_form_and_its_change_log() -> None:
    form = form_of(
        BASE,
        **{
            "policy.anonymous_limit": "3",
            "policy.exempt_sections": "Obituaries, Weather",
            "copy.gate_body": "Support local news.",
            "offer-0-price": "9.50",
            "offer-0-coupons": "SPRING=20, fall=10%",
            "offer-1-id": "yearly",
            "offer-1-name": "A year",
            "offer-1-price": "99",
            "offer-1-interval": "year",
            "note": "Spring campaign",
        },
    )
    submitted = read_policy_form(form)
    assert submitted.errors == []
    document = submitted.document
    assert document is not None
    assert document.policy.anonymous_limit == 3
    assert document.policy.exempt_sections == ["Obituaries", "Weather"]
    assert document.offers[0].price == Decimal("9.50")
    assert document.offers[0].coupons == {"SPRING": 20, "fall": 10}
    assert [o.id for o in document.offers] == ["digital-monthly", "yearly"]
    assert submitted.note == "Spring campaign"
    log = changes(BASE, document)
    assert "offer yearly added" in log
    assert "policy.anonymous_limit: 5 → 3" in log
    assert "policy.exempt_sections: (none) → Obituaries, Weather" in log
    assert "copy_text.gate_body: Subscribe to continue. → Support local news." in log
    assert "offers[digital-monthly].price: 11 → 9.50" in log
    live = LivePolicy.of(document, 7)
    assert live.version == 7
    assert live.policy.exempt_sections == frozenset({"obituaries", "weather"})


def test_removing_a_plan_and_refusing_to_remove_the_last() -> None:
    two = read_policy_form(
        form_of(BASE, **{"offer-1-id": "y", "offer-1-name": "Y", "offer-1-price": "5"})
    ).document
    assert two is not None
    one = read_policy_form(form_of(two, **{"offer-0-remove": "on"})).document
    assert one is not None and [o.id for o in one.offers] == ["y"]
    assert changes(two, one) == ["offer digital-monthly removed"]
    none = read_policy_form(form_of(BASE, **{"offer-0-remove": "on"}))
    assert none.document is None
    assert any("offers" in e for e in none.errors)


def test_bad_values_are_reported_field_by_field() -> None:
    submitted = read_policy_form(
        form_of(
            BASE,
            **{
                "policy.anonymous_limit": "-2",
                "policy.timezone": "Mars/Olympus",
                "offer-0-currency": "DOLLARS",
                "offer-0-price": "free",
            },
        )
    )
    assert submitted.document is None
    text = " | ".join(submitted.errors)
    assert "anonymous limit" in text
    assert "unknown time zone" in text
    assert "Plan digital-monthly" in text and "currency" in text and "price" in text
    assert submitted.values["policy"]["anonymous_limit"] == "-2"


def test_the_experiment_form() -> None:
    base = LivePolicy.of(BASE, 0)
    good = read_experiment_form(
        FormData([("name", "Tighter meter"), ("parameter", "meter_limit"), ("value_b", "3")]),
        base,
        "ed@example.com",
        NOW,
    )
    assert good.errors == []
    assert good.experiment is not None
    assert good.experiment.parameter is Parameter.METER_LIMIT
    assert [(v.name, v.value) for v in good.experiment.variants] == [(CONTROL, ""), ("b", "3")]
    assert good.experiment.id.startswith("tighter-meter-")
    bad = read_experiment_form(
        FormData([("name", ""), ("parameter", "price"), ("offer", "nope"), ("value_b", "9")]),
        base,
        "ed@example.com",
        NOW,
    )
    assert bad.experiment is None
    assert "Give the experiment a name." in bad.errors
    assert any("Variant B" in e and "plan" in e for e in bad.errors)
    unknown = read_experiment_form(
        FormData([("name", "x"), ("parameter", "colour")]), base, "e", NOW
    )
    assert unknown.errors == ["Choose what the experiment varies."]
