"""A simulation as people read it: a side-by-side table, a chart, and a text report."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from meterwall.analytics.access_logs import LogSummary
from meterwall.analytics.charts import bar_chart
from meterwall.analytics.simulator import Simulation, period_name


@dataclass(frozen=True, slots=True)
class Line:
    """One row of the side-by-side table: a label and a value per limit."""

    label: str
    values: tuple[str, ...]


def table(simulation: Simulation) -> list[Line]:
    """The rows of the side-by-side table."""
    results = simulation.results
    rate = f"{simulation.conversion_rate * 100:g}%"
    return [
        Line("Readers", tuple(f"{r.readers:,}" for r in results)),
        Line("Would hit the wall", tuple(f"{r.walled_readers:,}" for r in results)),
        Line("Share of readers at the wall", tuple(f"{r.walled_share:.1%}" for r in results)),
        Line("Wall impressions", tuple(f"{r.wall_impressions:,}" for r in results)),
        Line(
            "Wall impressions per reader at the wall",
            tuple(f"{r.impressions_per_walled_reader:.1f}" for r in results),
        ),
        Line("Metered views (counted, full text)", tuple(f"{r.metered_views:,}" for r in results)),
        Line(
            f"Expected conversions (at {rate} of readers at the wall)",
            tuple(f"{r.expected_conversions:,.1f}" for r in results),
        ),
    ]


def chart(simulation: Simulation) -> Markup:
    """Readers who would hit the wall, per limit."""
    labels = [f"limit {r.limit}" for r in simulation.results]
    return bar_chart(
        "Readers who would hit the wall, per meter limit",
        f"For each candidate limit ({', '.join(labels)}), per {period_name(simulation.period)}: "
        "the readers who would hit the wall at least once.",
        labels,
        [("Readers at the wall", [r.walled_readers for r in simulation.results])],
    )


def conversions_chart(simulation: Simulation) -> Markup:
    """Expected conversions, per limit."""
    labels = [f"limit {r.limit}" for r in simulation.results]
    rate = f"{simulation.conversion_rate * 100:g}%"
    return bar_chart(
        "Expected conversions, per meter limit",
        f"For each candidate limit ({', '.join(labels)}): readers at the wall times {rate}.",
        labels,
        [("Expected conversions", [r.expected_conversions for r in simulation.results])],
    )


def span(simulation: Simulation) -> str:
    """``2026-09-01 to 2026-10-30``, or an empty string with no views."""
    if simulation.first is None or simulation.last is None:
        return ""
    return f"{simulation.first.date().isoformat()} to {simulation.last.date().isoformat()}"


def text_report(simulation: Simulation, summary: LogSummary) -> str:
    """The report ``meterwall simulate`` prints."""
    out = [
        f"Replayed {simulation.views:,} article views ({span(simulation) or 'none'}) under a "
        f"{period_name(simulation.period)} meter ({simulation.timezone}), "
        f"log format: {summary.format.value}.",
        summary.identification(),
        f"Skipped: {summary.bots:,} bot requests, {summary.not_articles:,} requests for pages "
        f"that are not articles, {summary.not_served:,} other requests (not GET, or not "
        f"successful), {summary.bad_lines:,} unreadable lines.",
    ]
    if summary.examples_of_bad_lines:
        lines = ", ".join(str(n) for n in summary.examples_of_bad_lines)
        out.append(f"Unreadable lines include line(s) {lines}.")
    if simulation.out_of_order:
        out.append(
            f"{simulation.out_of_order:,} views were out of time order and replayed as found."
        )
    out.append("")
    rows = table(simulation)
    head = [f"limit {r.limit}" for r in simulation.results]
    width = max(len(row.label) for row in rows)
    cells = [max(len(h), *(len(row.values[i]) for row in rows)) for i, h in enumerate(head)]
    out.append(" " * width + "".join(f"  {h:>{w}}" for h, w in zip(head, cells, strict=True)))
    for row in rows:
        values = "".join(f"  {v:>{w}}" for v, w in zip(row.values, cells, strict=True))
        out.append(f"{row.label:<{width}}{values}")
    return "\n".join(out) + "\n"
