"""What every dashboard page shares: rendering, report ranges and CSV downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from meterwall.admin.auth import Staff
from meterwall.analytics.periods import Grain, default_range

if TYPE_CHECKING:
    from meterwall.app import Services

NO_STORE = {"Cache-Control": "private, no-store"}

NAV = (
    ("funnel", "/admin/funnel", "Funnel"),
    ("articles", "/admin/articles", "Articles"),
    ("revenue", "/admin/revenue", "Revenue"),
    ("policy", "/admin/policy", "Policy and offers"),
    ("experiments", "/admin/experiments", "Experiments"),
    ("simulator", "/admin/simulator", "Meter simulator"),
    ("grants", "/admin/grants", "Complimentary access"),
)

MAX_DAYS = 3 * 366

DASH = "\u2013"
"""An en dash: what a table shows for a value that does not exist."""


def services_of(request: Request) -> Services:
    """The app's services."""
    return request.app.state.services  # type: ignore[no-any-return]


def staff_of(request: Request) -> Staff:
    """The signed-in staff member (set by the guards)."""
    return request.state.staff  # type: ignore[no-any-return]


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    section: str,
    status_code: int = 200,
) -> Response:
    """A dashboard page, never cached."""
    staff: Staff | None = getattr(request.state, "staff", None)
    response = services_of(request).templates.TemplateResponse(
        request,
        template,
        {"nav": NAV, "section": section, "staff": staff, **context},
        status_code=status_code,
    )
    response.headers.update(NO_STORE)
    return response


def today(request: Request) -> date:
    """Today in the publisher's time zone."""
    services = services_of(request)
    return services.clock().astimezone(ZoneInfo(services.settings.policy.timezone)).date()


@dataclass(frozen=True, slots=True)
class ReportRange:
    """The days and grouping a report covers, and any problem with what was asked for."""

    first: date
    last: date
    grain: Grain
    error: str = ""

    def query(self, **extra: str) -> str:
        """The query string that asks for this range again (plus ``extra``)."""
        pairs = {
            "grain": self.grain.value,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            **extra,
        }
        return "&".join(f"{k}={v}" for k, v in pairs.items())


def report_range(request: Request) -> ReportRange:
    """The range asked for in the query string; defaults, with an error, for anything unusable."""
    params = request.query_params
    raw_grain = params.get("grain", Grain.DAY.value)
    grain = Grain(raw_grain) if raw_grain in {g.value for g in Grain} else Grain.DAY
    first, last = default_range(today(request), grain)
    errors = [] if raw_grain == grain.value else [f"Unknown grouping {raw_grain!r}; showing days."]
    try:
        if params.get("from"):
            first = date.fromisoformat(params["from"])
        if params.get("to"):
            last = date.fromisoformat(params["to"])
    except ValueError:
        errors.append("Dates are written YYYY-MM-DD; showing the default range.")
        first, last = default_range(today(request), grain)
    if first > last:
        errors.append("The range starts after it ends; showing the default range.")
        first, last = default_range(today(request), grain)
    if (last - first).days > MAX_DAYS:
        errors.append(f"A range can cover at most {MAX_DAYS} days; showing the default range.")
        first, last = default_range(today(request), grain)
    return ReportRange(first, last, grain, " ".join(errors))


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A cell starting with one of these runs as a formula in spreadsheet programs.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """A CSV download (UTF-8 with BOM so spreadsheet programs read accents right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return Response(
        "\ufeff" + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **NO_STORE},
    )


def percent(value: float | None, digits: int = 1) -> str:
    """``12.5%``, or an en dash for no value."""
    return DASH if value is None else f"{value * 100:.{digits}f}%"
