"""The analytics commands: ``meterwall simulate`` and ``meterwall events purge``."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from meterwall.access.model import CalendarMonth, RollingDays
from meterwall.analytics.access_logs import LogError, LogFormat, LogReader
from meterwall.analytics.experiments import parse_period
from meterwall.analytics.simulation_view import chart, text_report
from meterwall.analytics.simulator import simulate
from meterwall.settings import load_settings


def parse_limits(text: str) -> list[int]:
    """``3,5,10`` as distinct limits in the order given."""
    limits: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) > 10_000:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not a meter limit; give whole numbers such as 3,5,10"
            )
        if int(part) not in limits:
            limits.append(int(part))
    if not limits:
        raise argparse.ArgumentTypeError("give at least one limit, such as 3,5,10")
    return limits


def parse_rate(text: str) -> float:
    """``0.02`` or ``2%``."""
    raw = text.strip()
    try:
        rate = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate such as 0.02 or 2%") from exc
    if not 0 <= rate <= 1:
        raise argparse.ArgumentTypeError("a conversion rate is from 0 to 1 (or 0% to 100%)")
    return rate


def _period(text: str) -> CalendarMonth | RollingDays:
    try:
        return parse_period(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"unknown time zone {text!r} (use an IANA name)") from exc
    return text


def _days(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 36_500:
        raise argparse.ArgumentTypeError("give a whole number of days, such as 395")
    return int(text)


def _pattern(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"not a regular expression: {exc}") from exc


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        share = done / total if total else 1
        print(
            f"\rreading log: {share:4.0%} ({done / 1e6:.1f} of {total / 1e6:.1f} MB)",
            end="" if done < total else "\n",
            file=sys.stderr,
            flush=True,
        )


def cmd_simulate(args: argparse.Namespace) -> int:
    """Replay an access log under candidate meter limits and print the comparison."""
    try:
        reader = LogReader(args.log, LogFormat(args.format), args.articles, _progress)
        simulation = simulate(
            reader.hits(), args.limits, args.period, args.timezone, args.conversion_rate
        )
    except (LogError, OSError) as exc:
        print(f"meterwall simulate: {exc}", file=sys.stderr)
        return 2
    print(text_report(simulation, reader.summary), end="")
    if args.chart is not None:
        svg = '<?xml version="1.0" encoding="UTF-8"?>\n' + str(chart(simulation)) + "\n"
        args.chart.write_text(svg, encoding="utf-8")
        print(f"\nChart written to {args.chart}")
    return 0


def cmd_events_purge(args: argparse.Namespace) -> int:
    """Delete events older than the retention period."""
    from meterwall.analytics.sql import SqlEventStore
    from meterwall.app import utc_now
    from meterwall.storage.engine import create_engine

    settings = load_settings(getattr(args, "config", None))
    days = args.days if args.days is not None else settings.analytics.retention_days

    async def purge() -> int:
        engine = create_engine(settings.resolved_database_url)
        try:
            return await SqlEventStore(engine).purge(utc_now() - timedelta(days=days))
        finally:
            await engine.dispose()

    removed = asyncio.run(purge())
    print(f"deleted {removed:,} event(s) older than {days} days")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``simulate`` and ``events`` to the ``meterwall`` command."""
    sim = sub.add_parser(
        "simulate",
        help="replay an access log under candidate meter limits",
        description="Replay a publisher's access log (CSV or Common/Combined Log Format, "
        "optionally gzipped) and compare meter limits side by side.",
    )
    sim.add_argument("log", type=Path, help="the access log (CSV, Common or Combined format)")
    sim.add_argument("--limits", type=parse_limits, default=[3, 5, 10], help="e.g. 3,5,10")
    sim.add_argument(
        "--period",
        type=_period,
        default=CalendarMonth(),
        help="calendar_month (default) or rolling_days:N",
    )
    sim.add_argument("--timezone", type=_zone, default="UTC", help="the publisher's IANA time zone")
    sim.add_argument(
        "--conversion-rate",
        type=parse_rate,
        default=0.02,
        help="share of readers at the wall expected to subscribe (default 0.02, or 2%%)",
    )
    sim.add_argument(
        "--format", choices=[f.value for f in LogFormat], default="auto", help="log format"
    )
    sim.add_argument(
        "--articles",
        type=_pattern,
        default=None,
        help="regular expression an article's path must match (default: every page that is "
        "not an asset, feed, front page or account page)",
    )
    sim.add_argument("--chart", type=Path, default=None, help="write an SVG chart here")
    sim.set_defaults(func=cmd_simulate)

    events = sub.add_parser("events", help="manage funnel events")
    actions = events.add_subparsers(dest="action", required=True, metavar="ACTION")
    purge = actions.add_parser("purge", help="delete events older than the retention period")
    purge.add_argument(
        "--days", type=_days, default=None, help="keep this many days (default: the setting)"
    )
    purge.set_defaults(func=cmd_events_purge)
