"""Experiments: sticky, balanced assignment; the variant's policy; when a winner may be named."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterwall.access.live import LivePolicy, PolicyDocument
from meterwall.access.model import ArticleAccess, MeterState, ReaderState, RollingDays
from meterwall.access.policy import decide
from meterwall.analytics.experiments import (
    CONTROL,
    Arm,
    Experiment,
    Parameter,
    Variant,
    apply_variant,
    assign,
    check_value,
    verdict,
    wilson_interval,
)
from meterwall.settings import Settings

NOW = datetime(2026, 11, 15, tzinfo=UTC)
BASE = LivePolicy.of(PolicyDocument.from_settings(Settings(secret_key="k")), 0)
reader_ids = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=1
)


def experiment(parameter: Parameter, *values: str, target: str = "") -> Experiment:
    variants = (Variant(CONTROL, ""), *(Variant(chr(98 + i), v) for i, v in enumerate(values)))
    return Experiment("exp-1", "Test", parameter, target, variants, NOW)


@given(st.text(min_size=1), reader_ids, st.integers(min_value=1, max_value=6))
def test_assignment_is_a_pure_function_of_both_ids(exp_id: str, reader: str, arms: int) -> None:
    names = [f"v{i}" for i in range(arms)]
    first = assign(exp_id, reader, names)
    assert first in names
    assert all(assign(exp_id, reader, names) == first for _ in range(3))


@settings(max_examples=25, deadline=None)
@given(st.text(min_size=1, max_size=20), st.integers(min_value=2, max_value=4))
def test_assignment_is_balanced_over_many_readers(exp_id: str, arms: int) -> None:
    names = [f"v{i}" for i in range(arms)]
    readers = 4_000
    counts = Counter(assign(exp_id, f"reader-{n:05d}", names) for n in range(readers))
    expected = readers / arms
    # Five standard deviations of a binomial count: a real imbalance fails, chance does not.
    tolerance = 5 * math.sqrt(readers * (1 / arms) * (1 - 1 / arms))
    assert set(counts) == set(names)
    assert all(abs(counts[name] - expected) < tolerance for name in names)


def test_assignment_differs_between_experiments() -> None:
    names = ["control", "b"]
    same = sum(
        assign("exp-a", f"r{n}", names) == assign("exp-b", f"r{n}", names) for n in range(2_000)
    )
    assert 850 < same < 1_150


def test_assignment_needs_variants() -> None:
    with pytest.raises(ValueError):
        assign("e", "r", [])


def test_the_control_keeps_the_policy_and_is_tagged() -> None:
    live = apply_variant(BASE, experiment(Parameter.METER_LIMIT, "3"), CONTROL)
    assert live.policy == BASE.policy
    assert (live.experiment, live.variant) == ("exp-1", CONTROL)


@given(st.integers(min_value=0, max_value=50))
def test_a_meter_limit_variant_reaches_decide(limit: int) -> None:
    live = apply_variant(BASE, experiment(Parameter.METER_LIMIT, str(limit)), "b")
    assert live.policy.anonymous_limit == limit
    article = ArticleAccess("story")
    at_limit = ReaderState("r", meter=MeterState(used=limit, counted=False))
    assert decide(article, at_limit, live.policy, NOW).outcome == "paywall"
    if limit:
        under = ReaderState("r", meter=MeterState(used=limit, counted=True))
        assert decide(article, under, live.policy, NOW).outcome == "metered"


def test_a_meter_limit_variant_keeps_the_registered_bonus() -> None:
    base = LivePolicy.of(
        PolicyDocument.from_settings(
            Settings(secret_key="k", policy={"anonymous_limit": 3, "registered_limit": 10})
        ),
        0,
    )
    live = apply_variant(base, experiment(Parameter.METER_LIMIT, "5"), "b")
    assert (live.policy.anonymous_limit, live.policy.registered_limit) == (5, 12)


def test_period_lede_copy_and_price_variants() -> None:
    assert apply_variant(
        BASE, experiment(Parameter.PERIOD, "rolling_days:30"), "b"
    ).policy.period == RollingDays(30)
    assert apply_variant(BASE, experiment(Parameter.LEDE_WORDS, "80"), "b").policy.lede_words == 80
    copy = apply_variant(
        BASE, experiment(Parameter.COPY, "Support us.", target="gate_body"), "b"
    ).copy
    assert copy.gate_body == "Support us."
    assert copy.gate_heading == BASE.copy.gate_heading
    priced = apply_variant(BASE, experiment(Parameter.PRICE, "9.00", target="digital-monthly"), "b")
    assert priced.offers[0].price == Decimal("9.00")
    assert BASE.offers[0].price == Decimal("11")


@pytest.mark.parametrize(
    ("parameter", "target", "value", "canonical"),
    [
        (Parameter.METER_LIMIT, "", " 3 ", "3"),
        (Parameter.LEDE_WORDS, "", "0", "0"),
        (Parameter.PERIOD, "", "Rolling_Days:7", "rolling_days:7"),
        (Parameter.PERIOD, "", "calendar_month", "calendar_month"),
        (Parameter.COPY, "gate_body", "  Read on.  ", "Read on."),
        (Parameter.PRICE, "digital-monthly", "9.5", "9.50"),
    ],
)
def test_values_are_checked_and_made_canonical(
    parameter: Parameter, target: str, value: str, canonical: str
) -> None:
    assert check_value(parameter, target, value, BASE) == canonical


@pytest.mark.parametrize(
    ("parameter", "target", "value"),
    [
        (Parameter.METER_LIMIT, "", "-1"),
        (Parameter.METER_LIMIT, "", "three"),
        (Parameter.METER_LIMIT, "", "99999"),
        (Parameter.PERIOD, "", "weekly"),
        (Parameter.PERIOD, "", "rolling_days:0"),
        (Parameter.COPY, "not_a_field", "x"),
        (Parameter.COPY, "gate_body", ""),
        (Parameter.PRICE, "no-such-plan", "9"),
        (Parameter.PRICE, "digital-monthly", "NaN"),
        (Parameter.PRICE, "digital-monthly", "-2"),
        (Parameter.PRICE, "digital-monthly", "nine"),
    ],
)
def test_bad_values_are_refused_with_a_reason(
    parameter: Parameter, target: str, value: str
) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        check_value(parameter, target, value, BASE)


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(10, 100)
    assert low == pytest.approx(0.0552, abs=1e-4)
    assert high == pytest.approx(0.1744, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    zero_low, zero_high = wilson_interval(0, 50)
    assert zero_low == 0.0 and 0 < zero_high < 0.1
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


@given(st.integers(min_value=1, max_value=10_000), st.data())
def test_wilson_interval_contains_the_observed_rate(trials: int, data: st.DataObject) -> None:
    successes = data.draw(st.integers(min_value=0, max_value=trials))
    low, high = wilson_interval(successes, trials)
    assert 0 <= low <= successes / trials <= high <= 1


def test_no_winner_before_the_minimum_sample() -> None:
    result = verdict([Arm("control", 500, 5), Arm("b", 500, 50)], min_readers=1_000)
    assert result.winner is None
    assert "at least 1,000" in result.reason


def test_no_winner_while_the_intervals_overlap() -> None:
    result = verdict([Arm("control", 2_000, 40), Arm("b", 2_000, 50)], min_readers=1_000)
    assert result.winner is None
    assert "overlap" in result.reason


def test_a_clear_difference_names_a_winner() -> None:
    result = verdict([Arm("control", 5_000, 50), Arm("b", 5_000, 150)], min_readers=1_000)
    assert result.winner == "b"


def test_a_single_variant_never_wins() -> None:
    assert verdict([Arm("control", 5_000, 50)], min_readers=10).winner is None
