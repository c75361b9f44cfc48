"""Starting, watching and stopping experiments."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from meterwall.access.live import LivePolicy
from meterwall.access.model import RollingDays
from meterwall.admin.auth import PATH, staff_action, staff_page
from meterwall.admin.forms import read_experiment_form
from meterwall.admin.web import DASH, csv_response, percent, render, services_of, staff_of
from meterwall.analytics.charts import bar_chart
from meterwall.analytics.experiment_results import VariantResult, experiment_results
from meterwall.analytics.experiment_store import ExperimentConflict
from meterwall.analytics.experiments import (
    CONTROL,
    COPY_FIELDS,
    PARAMETER_LABELS,
    Experiment,
    Parameter,
    verdict,
)


def _base_value(experiment: Experiment, base: LivePolicy) -> str:
    policy = base.policy
    if experiment.parameter is Parameter.METER_LIMIT:
        return str(policy.anonymous_limit)
    if experiment.parameter is Parameter.LEDE_WORDS:
        return str(policy.lede_words) if policy.lede_words else "first paragraph"
    if experiment.parameter is Parameter.PERIOD:
        period = policy.period
        return f"rolling_days:{period.days}" if isinstance(period, RollingDays) else period.kind
    if experiment.parameter is Parameter.COPY:
        return str(getattr(base.copy, experiment.target, ""))
    offer = next((o for o in base.offers if o.id == experiment.target), None)
    return str(offer.price) if offer else ""


async def _page(
    request: Request, values: Mapping[str, str], errors: list[str], status_code: int = 200
) -> Response:
    services = services_of(request)
    base = await services.policies.base()
    everything = await services.dashboard.experiments.all()
    return render(
        request,
        "admin_experiments.html",
        {
            "experiments": everything,
            "running": next((e for e in everything if e.running), None),
            "labels": PARAMETER_LABELS,
            "parameters": list(Parameter),
            "copy_fields": COPY_FIELDS,
            "offers": base.offers,
            "values": values,
            "errors": errors,
        },
        section="experiments",
        status_code=status_code,
    )


@staff_page
async def experiments(request: Request) -> Response:
    """The experiments so far, and a form to start one."""
    return await _page(request, {}, [])


@staff_action
async def start_experiment(request: Request) -> Response:
    """Start an experiment (one at a time)."""
    services = services_of(request)
    base = await services.policies.base()
    submitted = read_experiment_form(
        await request.form(), base, staff_of(request).user.email, services.clock()
    )
    if submitted.experiment is None:
        return await _page(request, submitted.values, submitted.errors, 400)
    try:
        await services.dashboard.experiments.start(submitted.experiment)
    except ExperimentConflict as exc:
        return await _page(request, submitted.values, [str(exc)], 409)
    services.policies.invalidate()
    return RedirectResponse(f"{PATH}/experiments/{submitted.experiment.id}", status_code=303)


async def _found(request: Request) -> Experiment:
    found = await services_of(request).dashboard.experiments.get(request.path_params["id"])
    if found is None:
        raise HTTPException(404, "There is no experiment with this id.")
    return found


def _rows(
    experiment: Experiment, results: list[VariantResult], base: LivePolicy
) -> list[dict[str, object]]:
    values = {v.name: v.value for v in experiment.variants}
    rows = []
    for result in results:
        low, high = result.arm.interval
        search_low, search_high = result.search_interval
        value = values.get(result.arm.name, "")
        rows.append(
            {
                "name": result.arm.name,
                "value": f"current policy ({_base_value(experiment, base)})"
                if result.arm.name == CONTROL
                else value,
                "readers": result.arm.readers,
                "walled": result.walled,
                "conversions": result.arm.conversions,
                "rate": percent(result.arm.rate if result.arm.readers else None, 2),
                "interval": f"{percent(low, 2)} {DASH} {percent(high, 2)}"
                if result.arm.readers
                else DASH,
                "search": percent(result.search_share),
                "search_interval": f"{percent(search_low)} {DASH} {percent(search_high)}"
                if result.arm.readers
                else DASH,
            }
        )
    return rows


@staff_page
async def experiment(request: Request) -> Response:
    """One experiment's results, with confidence intervals and the search guardrail."""
    services = services_of(request)
    found = await _found(request)
    results = await experiment_results(services.dashboard.engine, found)
    base = await services.policies.base()
    minimum = services.settings.admin.experiment_min_readers
    chart = bar_chart(
        "Conversion rate per variant",
        "The share of each variant's readers who subscribed; the table gives 95% intervals.",
        [r.arm.name for r in results],
        [("Conversion rate", [r.arm.rate for r in results])],
        percent=True,
    )
    return render(
        request,
        "admin_experiment.html",
        {
            "experiment": found,
            "label": PARAMETER_LABELS[found.parameter],
            "rows": _rows(found, results, base),
            "verdict": verdict([r.arm for r in results], minimum),
            "minimum": minimum,
            "chart": chart,
        },
        section="experiments",
    )


@staff_page
async def experiment_csv(request: Request) -> Response:
    """One experiment's results as CSV."""
    services = services_of(request)
    found = await _found(request)
    results = await experiment_results(services.dashboard.engine, found)
    header = [
        "variant",
        "readers",
        "readers_at_wall",
        "conversions",
        "rate",
        "rate_low_95",
        "rate_high_95",
        "readers_from_search",
        "search_share",
    ]
    return csv_response(
        f"experiment-{found.id}.csv",
        header,
        (
            [
                r.arm.name,
                r.arm.readers,
                r.walled,
                r.arm.conversions,
                f"{r.arm.rate:.6f}",
                f"{r.arm.interval[0]:.6f}",
                f"{r.arm.interval[1]:.6f}",
                r.from_search,
                "" if r.search_share is None else f"{r.search_share:.6f}",
            ]
            for r in results
        ),
    )


@staff_action
async def stop_experiment(request: Request) -> Response:
    """Stop assigning readers; every reader gets the base policy again."""
    services = services_of(request)
    found = await _found(request)
    await services.dashboard.experiments.stop(found.id, services.clock())
    services.policies.invalidate()
    return RedirectResponse(f"{PATH}/experiments/{found.id}", status_code=303)
