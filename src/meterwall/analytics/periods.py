"""Report periods: days grouped into weeks (from Monday) or calendar months."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum


class Grain(StrEnum):
    """How a report groups days."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


DEFAULT_SPAN = {Grain.DAY: 30, Grain.WEEK: 12, Grain.MONTH: 12}
"""How many periods a report shows when no range is asked for."""


def period_start(day: date, grain: Grain) -> date:
    """The first day of the period that contains ``day``."""
    if grain is Grain.WEEK:
        return day - timedelta(days=day.weekday())
    if grain is Grain.MONTH:
        return day.replace(day=1)
    return day


def next_period(start: date, grain: Grain) -> date:
    """The first day of the period after the one starting on ``start``."""
    if grain is Grain.WEEK:
        return start + timedelta(days=7)
    if grain is Grain.MONTH:
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=1)


def periods(first: date, last: date, grain: Grain) -> list[date]:
    """The start of every period from the one with ``first`` to the one with ``last``."""
    out: list[date] = []
    start = period_start(first, grain)
    while start <= last:
        out.append(start)
        start = next_period(start, grain)
    return out


def default_range(today: date, grain: Grain) -> tuple[date, date]:
    """The last :data:`DEFAULT_SPAN` periods up to ``today``."""
    start = period_start(today, grain)
    for _ in range(DEFAULT_SPAN[grain] - 1):
        start = period_start(start - timedelta(days=1), grain)
    return start, today


def short_label(start: date, grain: Grain) -> str:
    """A chart axis label: ``Nov 15``, or ``Nov 2026`` for a month."""
    if grain is Grain.MONTH:
        return start.strftime("%b %Y")
    return f"{start.strftime('%b')} {start.day}"


def label(start: date, grain: Grain) -> str:
    """``2026-11-15``, ``week of 2026-11-09`` or ``2026-11``."""
    if grain is Grain.MONTH:
        return start.strftime("%Y-%m")
    if grain is Grain.WEEK:
        return f"week of {start.isoformat()}"
    return start.isoformat()
