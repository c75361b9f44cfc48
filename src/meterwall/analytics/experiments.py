"""A/B tests on the policy: assignment, the variant's policy, and when a winner may be named.

Everything here is pure.  A reader's variant is a hash of (experiment id,
reader id), so it is the same on every request and every worker without
storing anything; a variant's policy is a function of the base policy, the
experiment and the variant alone, so it flows into ``decide()`` unchanged.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from meterwall.access.live import LivePolicy
from meterwall.access.model import CalendarMonth, RollingDays
from meterwall.settings import CopySettings

CONTROL = "control"
"""The variant that keeps the policy in force."""

MAX_COPY_LENGTH = 500


class Parameter(StrEnum):
    """What an experiment varies."""

    METER_LIMIT = "meter_limit"
    PERIOD = "period"
    LEDE_WORDS = "lede_words"
    COPY = "copy"
    PRICE = "price"


PARAMETER_LABELS = {
    Parameter.METER_LIMIT: "Meter limit (free articles per period)",
    Parameter.PERIOD: "Meter period",
    Parameter.LEDE_WORDS: "Lede length (words shown at the wall)",
    Parameter.COPY: "Offer copy (one sentence of the meter or gate)",
    Parameter.PRICE: "Price of a plan",
}

COPY_FIELDS = tuple(CopySettings.model_fields)


@dataclass(frozen=True, slots=True)
class Variant:
    """One arm of an experiment; the control's ``value`` is empty (no change)."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Experiment:
    """An A/B test on one parameter.  ``target`` names the copy field or plan it changes."""

    id: str
    name: str
    parameter: Parameter
    target: str
    variants: tuple[Variant, ...]
    started_at: datetime
    stopped_at: datetime | None = None
    created_by: str = ""

    @property
    def running(self) -> bool:
        """Whether readers are still being assigned."""
        return self.stopped_at is None

    def variant(self, name: str) -> Variant | None:
        """The variant called ``name``."""
        return next((v for v in self.variants if v.name == name), None)


@dataclass(frozen=True, slots=True)
class Assignment:
    """A reader's variant of an experiment."""

    experiment: str
    variant: str


def assign(experiment_id: str, reader_id: str, variants: Sequence[str]) -> str:
    """The variant of ``reader_id``: equal shares, decided by SHA-256 of both ids."""
    if not variants:
        raise ValueError("an experiment needs at least one variant")
    digest = hashlib.sha256(f"{experiment_id}\x00{reader_id}".encode()).digest()
    bucket = (int.from_bytes(digest[:8], "big") * len(variants)) >> 64
    return variants[bucket]


def parse_period(value: str) -> CalendarMonth | RollingDays:
    """``calendar_month`` or ``rolling_days:N`` (1 to 366)."""
    text = value.strip().casefold()
    if text == "calendar_month":
        return CalendarMonth()
    name, _, days = text.partition(":")
    if name == "rolling_days" and days.isdigit() and 1 <= int(days) <= 366:
        return RollingDays(int(days))
    raise ValueError("a period is calendar_month or rolling_days:N with N from 1 to 366")


def _whole(value: str, low: int, high: int, what: str) -> int:
    text = value.strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{what} must be a whole number from {low} to {high}")
    return int(text)


def check_value(parameter: Parameter, target: str, value: str, base: LivePolicy) -> str:
    """``value`` in canonical form for this parameter, or :class:`ValueError` saying why not."""
    if parameter is Parameter.METER_LIMIT:
        return str(_whole(value, 0, 10_000, "a meter limit"))
    if parameter is Parameter.LEDE_WORDS:
        return str(_whole(value, 0, 2_000, "a lede length"))
    if parameter is Parameter.PERIOD:
        period = parse_period(value)
        return period.kind if isinstance(period, CalendarMonth) else f"rolling_days:{period.days}"
    if parameter is Parameter.COPY:
        if target not in COPY_FIELDS:
            raise ValueError(f"choose which sentence to vary: one of {', '.join(COPY_FIELDS)}")
        text = value.strip()
        if not text or len(text) > MAX_COPY_LENGTH:
            raise ValueError(f"the copy must be 1 to {MAX_COPY_LENGTH} characters")
        return text
    if not any(o.id == target for o in base.offers):
        raise ValueError("choose the plan whose price to vary")
    try:
        price = Decimal(value.strip())
    except InvalidOperation as exc:
        raise ValueError("a price is a number such as 9 or 9.50") from exc
    if not price.is_finite() or price < 0 or price > 100_000:
        raise ValueError("a price is a number from 0 to 100000")
    return str(price.quantize(Decimal("0.01")))


def apply_variant(base: LivePolicy, experiment: Experiment, variant_name: str) -> LivePolicy:
    """The policy a reader in ``variant_name`` gets: ``base`` with the variant's value laid over.

    A meter-limit variant sets the anonymous limit and moves the registered
    limit with it, so registered readers keep their extra allowance.
    """
    variant = experiment.variant(variant_name)
    tagged = replace(base, experiment=experiment.id, variant=variant_name)
    if variant is None or variant.name == CONTROL or not variant.value:
        return tagged
    policy = base.policy
    value = variant.value
    if experiment.parameter is Parameter.METER_LIMIT:
        limit = int(value)
        bonus = max(0, policy.registered_limit - policy.anonymous_limit)
        policy = replace(policy, anonymous_limit=limit, registered_limit=limit + bonus)
        return replace(tagged, policy=policy)
    if experiment.parameter is Parameter.LEDE_WORDS:
        return replace(tagged, policy=replace(policy, lede_words=int(value)))
    if experiment.parameter is Parameter.PERIOD:
        return replace(tagged, policy=replace(policy, period=parse_period(value)))
    if experiment.parameter is Parameter.COPY:
        copy = base.copy.model_copy(update={experiment.target: value})
        return replace(tagged, copy=copy)
    offers = tuple(
        o.model_copy(update={"price": Decimal(value)}) if o.id == experiment.target else o
        for o in base.offers
    )
    return replace(tagged, offers=offers)


Z_95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default); (0, 1) with no trials."""
    if trials <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= trials:
        raise ValueError("successes must be between 0 and trials")
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    # At 0 or all successes a bound is exactly 0 or 1; rounding must not move it.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True, slots=True)
class Arm:
    """One variant's numbers: readers, how many converted, and its interval."""

    name: str
    readers: int
    conversions: int

    @property
    def rate(self) -> float:
        """The conversion rate (0 with no readers)."""
        return self.conversions / self.readers if self.readers else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        """The 95% Wilson interval of the rate."""
        return wilson_interval(self.conversions, self.readers)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether the data names a winner, and why (or why not yet)."""

    winner: str | None
    reason: str


def verdict(arms: Sequence[Arm], min_readers: int) -> Verdict:
    """Name a winner only when the sample supports one.

    Every variant needs at least ``min_readers`` readers, and the best
    variant's 95% interval must lie wholly above every other variant's.
    Non-overlapping intervals are a stricter test than a single significance
    test, which keeps the false-winner rate low even when the page is looked
    at every day.
    """
    if len(arms) < 2:
        return Verdict(None, "An experiment needs at least two variants.")
    smallest = min(arm.readers for arm in arms)
    if smallest < min_readers:
        return Verdict(
            None,
            f"Not enough readers yet: every variant needs at least {min_readers:,} "
            f"(the smallest has {smallest:,}). Keep the experiment running.",
        )
    best = max(arms, key=lambda arm: arm.rate)
    others = [arm for arm in arms if arm is not best]
    if all(best.interval[0] > arm.interval[1] for arm in others):
        return Verdict(
            best.name,
            f"{best.name} converts best, and its 95% interval does not overlap any other "
            "variant's.",
        )
    return Verdict(
        None,
        "The 95% intervals overlap, so the difference could be chance. Keep the experiment "
        "running, or stop it if the difference that remains possible is too small to matter.",
    )
