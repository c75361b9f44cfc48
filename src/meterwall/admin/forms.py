"""Reading the dashboard's forms into validated documents, with readable errors."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from meterwall.access.live import LivePolicy, PolicyDocument
from meterwall.analytics.experiments import (
    CONTROL,
    COPY_FIELDS,
    Experiment,
    Parameter,
    Variant,
    check_value,
)

OFFER_FIELDS = (
    "id",
    "name",
    "price",
    "currency",
    "interval",
    "trial_days",
    "intro_price",
    "intro_periods",
    "coupons",
    "description",
)
POLICY_FIELDS = (
    "anonymous_limit",
    "registered_limit",
    "period",
    "rolling_days",
    "timezone",
    "exempt_sections",
    "exempt_tags",
    "lede_words",
    "search_referral_allowance",
)
POLICY_SWITCHES = ("regwall", "verified_crawlers_full_text")
MAX_OFFERS = 20


def _text(form: FormData, name: str, limit: int = 2_000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _coupons(text: str) -> dict[str, Any]:
    coupons: dict[str, Any] = {}
    for part in _list(text):
        code, _, off = part.partition("=")
        coupons[code.strip()] = off.strip().rstrip("%")
    return coupons


def document_form(document: PolicyDocument) -> dict[str, Any]:
    """A policy document as the form shows it (lists and coupons as comma-separated text)."""
    data = document.model_dump(mode="json")
    policy = data["policy"]
    policy["exempt_sections"] = ", ".join(policy["exempt_sections"])
    policy["exempt_tags"] = ", ".join(policy["exempt_tags"])
    for offer in data["offers"]:
        offer["coupons"] = ", ".join(f"{k}={v}" for k, v in offer["coupons"].items())
        offer["intro_price"] = offer["intro_price"] or ""
    return data


def blank_offer() -> dict[str, Any]:
    """The empty row the form offers for adding a plan."""
    return {name: "" for name in OFFER_FIELDS} | {"currency": "USD", "interval": "month"}


@dataclass(frozen=True, slots=True)
class PolicyForm:
    """A submitted policy form: the values as typed, and the document or the errors."""

    values: dict[str, Any]
    document: PolicyDocument | None
    errors: list[str]
    note: str


def _error_lines(exc: ValidationError, offer_ids: list[str]) -> list[str]:
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        if len(loc) >= 2 and loc[0] == "offers" and isinstance(loc[1], int):
            name = offer_ids[loc[1]] if loc[1] < len(offer_ids) else str(loc[1] + 1)
            where = f"Plan {name or loc[1] + 1}, " + ".".join(str(p) for p in loc[2:])
        else:
            where = ".".join(str(p) for p in loc[1:] or loc)
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{where.replace('_', ' ')}: {message}")
    return lines


def read_policy_form(form: FormData) -> PolicyForm:
    """Build a policy document from the submitted form."""
    policy: dict[str, Any] = {name: _text(form, f"policy.{name}") for name in POLICY_FIELDS}
    for name in POLICY_SWITCHES:
        policy[name] = form.get(f"policy.{name}") == "on"
    copy = {name: _text(form, f"copy.{name}", 1_000) for name in COPY_FIELDS}
    offers: list[dict[str, Any]] = []
    for index in range(MAX_OFFERS):
        row = {name: _text(form, f"offer-{index}-{name}") for name in OFFER_FIELDS}
        if form.get(f"offer-{index}-remove") == "on" or not any(
            row[n] for n in ("id", "name", "price")
        ):
            continue
        offers.append(row)
    values = {"policy": policy, "copy_text": copy, "offers": offers}
    typed_policy: dict[str, Any] = {
        **policy,
        "exempt_sections": _list(policy["exempt_sections"]),
        "exempt_tags": _list(policy["exempt_tags"]),
    }
    typed_offers = [
        {
            **{k: v for k, v in row.items() if v or k not in ("currency", "interval")},
            "coupons": _coupons(row["coupons"]),
            "intro_price": row["intro_price"] or None,
            "intro_periods": row["intro_periods"] or 0,
            "trial_days": row["trial_days"] or 0,
        }
        for row in offers
    ]
    note = _text(form, "note", 1_000)
    try:
        document = PolicyDocument.model_validate(
            {"policy": typed_policy, "copy_text": copy, "offers": typed_offers}
        )
    except ValidationError as exc:
        return PolicyForm(values, None, _error_lines(exc, [o["id"] for o in offers]), note)
    return PolicyForm(values, document, [], note)


@dataclass(frozen=True, slots=True)
class ExperimentForm:
    """A submitted experiment form: the values as typed, and the experiment or the errors."""

    values: Mapping[str, str]
    experiment: Experiment | None
    errors: list[str]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:40] or "experiment"


def read_experiment_form(
    form: FormData, base: LivePolicy, by: str, now: datetime
) -> ExperimentForm:
    """Build an experiment (control plus one or two variants) from the submitted form."""
    values = {
        name: _text(form, name, 500)
        for name in ("name", "parameter", "copy_field", "offer", "value_b", "value_c")
    }
    errors: list[str] = []
    name = values["name"][:100]
    if not name:
        errors.append("Give the experiment a name.")
    if values["parameter"] not in {p.value for p in Parameter}:
        return ExperimentForm(values, None, [*errors, "Choose what the experiment varies."])
    parameter = Parameter(values["parameter"])
    target = ""
    if parameter is Parameter.COPY:
        target = values["copy_field"]
    elif parameter is Parameter.PRICE:
        target = values["offer"]
    variants = [Variant(CONTROL, "")]
    for label, key in (("B", "value_b"), ("C", "value_c")):
        raw = values[key]
        if not raw and key == "value_c":
            continue
        try:
            variants.append(Variant(label.lower(), check_value(parameter, target, raw, base)))
        except ValueError as exc:
            errors.append(f"Variant {label}: {exc}.")
    if errors:
        return ExperimentForm(values, None, errors)
    experiment = Experiment(
        id=f"{_slug(name)}-{secrets.token_hex(3)}",
        name=name,
        parameter=parameter,
        target=target,
        variants=tuple(variants),
        started_at=now,
        created_by=by,
    )
    return ExperimentForm(values, experiment, [])
