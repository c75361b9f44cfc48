"""The meter simulator in the dashboard: upload a log (or use the sample) and compare limits."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import anyio
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from meterwall.admin.auth import staff_page, staff_upload
from meterwall.admin.web import render, services_of
from meterwall.analytics.access_logs import LogError, LogReader
from meterwall.analytics.experiments import parse_period
from meterwall.analytics.sample_log import write_sample_log
from meterwall.analytics.simulation_view import chart, conversions_chart, span, table
from meterwall.analytics.simulator import period_name, simulate

SAMPLE_NAME = "sample_access.log.gz"
DEFAULTS = {"limits": "3,5,10", "period": "calendar_month", "rate": "2", "source": "sample"}


def sample_path(data_dir: Path) -> Path:
    """The sample log in the data folder, written on first use."""
    path = data_dir / SAMPLE_NAME
    if not path.exists():
        write_sample_log(path)
    return path


def _limits(text: str) -> list[int]:
    limits: list[int] = []
    for part in text.split(","):
        if not part.strip().isdigit() or int(part) > 10_000:
            raise ValueError("Limits are whole numbers separated by commas, such as 3,5,10.")
        if int(part) not in limits:
            limits.append(int(part))
    if not 1 <= len(limits) <= 8:
        raise ValueError("Give from one to eight limits.")
    return limits


def _rate(text: str) -> float:
    try:
        rate = float(text.strip().rstrip("%")) / 100
    except ValueError as exc:
        raise ValueError("The conversion rate is a percentage such as 2 or 0.5.") from exc
    if not 0 <= rate <= 1:
        raise ValueError("The conversion rate is a percentage from 0 to 100.")
    return rate


def _run(path: Path, limits: list[int], period_text: str, zone: str, rate: float) -> dict[str, Any]:
    reader = LogReader(path)
    simulation = simulate(reader.hits(), limits, parse_period(period_text), zone, rate)
    return {
        "simulation": simulation,
        "summary": reader.summary,
        "table": table(simulation),
        "charts": [chart(simulation), conversions_chart(simulation)],
        "span": span(simulation),
        "period": period_name(simulation.period),
    }


async def _page(
    request: Request,
    values: Mapping[str, str],
    errors: list[str],
    result: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    settings = services_of(request).settings
    return render(
        request,
        "admin_simulator.html",
        {
            "values": {**DEFAULTS, **values},
            "errors": errors,
            "result": result,
            "max_mb": settings.admin.simulator_max_upload_mb,
            "timezone": settings.policy.timezone,
        },
        section="simulator",
        status_code=status_code,
    )


@staff_page
async def simulator(request: Request) -> Response:
    """The simulator form."""
    return await _page(request, {}, [])


def _copy(source: IO[bytes]) -> Path:
    with tempfile.NamedTemporaryFile(prefix="meterwall-log-", delete=False) as out:
        shutil.copyfileobj(source, out)
        return Path(out.name)


@staff_upload
async def run_simulation(request: Request) -> Response:
    """Replay the uploaded (or sample) log under each limit."""
    settings = services_of(request).settings
    form = await request.form()
    values = {
        name: str(form.get(name) or "")[:200] for name in ("limits", "period", "rate", "source")
    }
    errors: list[str] = []
    try:
        limits = _limits(values["limits"])
        rate = _rate(values["rate"])
        parse_period(values["period"])
    except ValueError as exc:
        errors.append(str(exc))
    upload = form.get("log")
    uploaded = (
        isinstance(upload, UploadFile) and bool(upload.filename) and values["source"] == "upload"
    )
    if values["source"] == "upload" and not uploaded:
        errors.append("Choose a log file to upload, or use the sample log.")
    if errors:
        return await _page(request, values, errors, status_code=400)
    temporary: Path | None = None
    try:
        if uploaded:
            assert isinstance(upload, UploadFile)
            temporary = await anyio.to_thread.run_sync(_copy, upload.file)
            path = temporary
        else:
            path = await anyio.to_thread.run_sync(sample_path, settings.data_dir)
        result = await anyio.to_thread.run_sync(
            _run, path, limits, values["period"], settings.policy.timezone, rate
        )
    except LogError as exc:
        return await _page(request, values, [str(exc)], status_code=400)
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
    return await _page(request, values, [], result)
