"""The report pages: funnel, articles and revenue, each with charts and a CSV download."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from meterwall.admin.auth import PATH, staff_page
from meterwall.admin.web import (
    ReportRange,
    csv_response,
    percent,
    render,
    report_range,
    services_of,
    today,
)
from meterwall.analytics.article_report import SORT_KEYS, ArticleRow, article_report, sort_rows
from meterwall.analytics.charts import bar_chart, line_chart
from meterwall.analytics.funnel import STAGES, Funnel, funnel_report
from meterwall.analytics.periods import short_label
from meterwall.analytics.revenue import Revenue, revenue_report


def _strict(request: Request) -> ReportRange:
    """The range for a download: a bad range is an error, not a silent default."""
    asked = report_range(request)
    if asked.error:
        raise HTTPException(400, asked.error)
    return asked


async def home(_request: Request) -> Response:
    """The dashboard's front door is the funnel."""
    return RedirectResponse(PATH + "/funnel", status_code=303)


async def _funnel(request: Request, asked: ReportRange) -> Funnel:
    engine = services_of(request).dashboard.engine
    return await funnel_report(engine, asked.first, asked.last, asked.grain)


@staff_page
async def funnel(request: Request) -> Response:
    """Visitors to subscribers, per period, with conversion rates."""
    asked = report_range(request)
    result = await _funnel(request, asked)
    labels = [short_label(row.start, asked.grain) for row in result.rows]
    stages = [
        {
            "name": stage.name,
            "count": result.totals[stage.key],
            "conversion": percent(result.conversion(i)),
        }
        for i, stage in enumerate(STAGES)
    ]
    charts = [
        bar_chart(
            "The funnel over the whole range",
            "Distinct readers at each stage, from visitors to subscribers.",
            [stage.name for stage in STAGES],
            [("Readers", [result.totals[stage.key] for stage in STAGES])],
        ),
        line_chart(
            f"Readers per {asked.grain.value}",
            "Visitors, readers the meter applied to, and readers who hit the wall, per period.",
            labels,
            [(stage.name, [row.counts[stage.key] for row in result.rows]) for stage in STAGES[:3]],
        ),
        line_chart(
            f"Conversions per {asked.grain.value}",
            "Readers who registered, started checkout and subscribed, per period.",
            labels,
            [(stage.name, [row.counts[stage.key] for row in result.rows]) for stage in STAGES[3:]],
        ),
    ]
    rows = [
        {
            "label": row.label,
            "counts": [row.counts[stage.key] for stage in STAGES],
            "overall": percent(result.overall(row.counts), 2),
        }
        for row in result.rows
    ]
    return render(
        request,
        "admin_funnel.html",
        {
            "range": asked,
            "stages": stages,
            "stage_names": [stage.name for stage in STAGES],
            "overall": percent(result.overall(), 2),
            "charts": charts,
            "rows": rows,
        },
        section="funnel",
    )


@staff_page
async def funnel_csv(request: Request) -> Response:
    """The funnel table as CSV."""
    asked = _strict(request)
    result = await _funnel(request, asked)
    header = ["period_start", *(stage.key for stage in STAGES), "subscribed_per_visitor"]
    rows = [
        [
            row.start.isoformat(),
            *(row.counts[s.key] for s in STAGES),
            _ratio(result.overall(row.counts)),
        ]
        for row in result.rows
    ]
    rows.append(["total", *(result.totals[s.key] for s in STAGES), _ratio(result.overall())])
    return csv_response(f"funnel-{asked.first}-{asked.last}.csv", header, rows)


def _short(headline: str, length: int = 16) -> str:
    return headline if len(headline) <= length else headline[: length - 1].rstrip() + "\u2026"


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


async def _articles(
    request: Request, asked: ReportRange
) -> tuple[list[ArticleRow], dict[str, str]]:
    services = services_of(request)
    rows = await article_report(services.dashboard.engine, asked.first, asked.last)
    found = await services.articles.by_ids(r.article_id for r in rows)
    headlines = {
        r.article_id: (found[r.article_id].headline if r.article_id in found else r.article_id)
        for r in rows
    }
    return rows, headlines


def _sort(request: Request) -> tuple[str, bool]:
    key = request.query_params.get("sort", "wall_impressions")
    if key not in SORT_KEYS:
        key = "wall_impressions"
    return key, request.query_params.get("dir", "desc") != "asc"


@staff_page
async def articles(request: Request) -> Response:
    """Which articles bring readers to the wall, and which convert; sortable."""
    asked = report_range(request)
    rows, headlines = await _articles(request, asked)
    key, descending = _sort(request)
    ordered = sort_rows(rows, key, descending)
    top = sort_rows(rows, "wall_impressions")[:10]
    chart = bar_chart(
        "Articles that bring readers to the wall",
        "The ten articles with the most wall impressions in the range, with the subscriptions "
        "attributed to them.",
        [_short(headlines[r.article_id]) for r in top],
        [
            ("Wall impressions", [r.wall_impressions for r in top]),
            ("Subscriptions", [r.subscriptions for r in top]),
        ],
    )
    columns = [
        ("views", "Views"),
        ("readers", "Readers"),
        ("wall_impressions", "Wall impressions"),
        ("wall_readers", "Readers at the wall"),
        ("subscriptions", "Subscriptions"),
        ("conversion", "Conversion at the wall"),
    ]
    return render(
        request,
        "admin_articles.html",
        {
            "range": asked,
            "rows": [
                {"row": r, "headline": headlines[r.article_id], "conversion": percent(r.conversion)}
                for r in ordered
            ],
            "columns": columns,
            "sort": key,
            "sort_name": dict(columns)[key],
            "descending": descending,
            "chart": chart,
        },
        section="articles",
    )


@staff_page
async def articles_csv(request: Request) -> Response:
    """The articles table as CSV."""
    asked = _strict(request)
    rows, headlines = await _articles(request, asked)
    key, descending = _sort(request)
    header = [
        "article_id",
        "headline",
        "section",
        "views",
        "readers",
        "wall_impressions",
        "wall_readers",
        "subscriptions",
        "conversion",
    ]
    return csv_response(
        f"articles-{asked.first}-{asked.last}.csv",
        header,
        (
            [
                r.article_id,
                headlines[r.article_id],
                r.section,
                r.views,
                r.readers,
                r.wall_impressions,
                r.wall_readers,
                r.subscriptions,
                _ratio(r.conversion),
            ]
            for r in sort_rows(rows, key, descending)
        ),
    )


async def _revenue(request: Request, asked: ReportRange) -> Revenue:
    services = services_of(request)
    live = await services.policies.base()
    return await revenue_report(
        services.dashboard.engine, live.offers, asked.first, asked.last, today(request), asked.grain
    )


@staff_page
async def revenue(request: Request) -> Response:
    """Subscribers, MRR, new, cancelled and churn."""
    asked = report_range(request)
    result = await _revenue(request, asked)
    labels = [short_label(p.start, asked.grain) for p in result.periods]
    charts = [
        bar_chart(
            f"New and cancelled subscriptions per {asked.grain.value}",
            "Subscriptions started and ended in each period.",
            labels,
            [
                ("New", [p.new for p in result.periods]),
                ("Cancelled", [p.cancelled for p in result.periods]),
            ],
        ),
        line_chart(
            f"Staying subscribers at the end of each {asked.grain.value}",
            "Subscribers who have not asked to cancel, at the end of each period.",
            labels,
            [("Staying subscribers", [p.subscribers_at_end for p in result.periods])],
        ),
    ]
    return render(
        request,
        "admin_revenue.html",
        {
            "range": asked,
            "revenue": result,
            "charts": charts,
            "periods": [{"p": p, "churn": percent(p.churn)} for p in result.periods],
        },
        section="revenue",
    )


@staff_page
async def revenue_csv(request: Request) -> Response:
    """The revenue periods as CSV."""
    asked = _strict(request)
    result = await _revenue(request, asked)
    return csv_response(
        f"revenue-{asked.first}-{asked.last}.csv",
        ["period_start", "subscribers_at_start", "new", "cancelled", "subscribers_at_end", "churn"],
        (
            [
                p.start.isoformat(),
                p.subscribers_at_start,
                p.new,
                p.cancelled,
                p.subscribers_at_end,
                _ratio(p.churn),
            ]
            for p in result.periods
        ),
    )
