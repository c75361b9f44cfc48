"""The meter commands: ``meterwall meter purge``."""

from __future__ import annotations

import argparse
import asyncio
import sys

from meterwall.settings import load_settings


def cmd_meter_purge(args: argparse.Namespace) -> int:
    """Delete SQL meter rows whose period has ended (Redis expires its own), limit counters
    whose window has ended, and webhook payloads past their retention."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from meterwall.app import utc_now
    from meterwall.metering.housekeeping import purgeables
    from meterwall.storage.engine import create_engine

    settings = load_settings(getattr(args, "config", None))
    if settings.meter_store != "sql":
        print("the meter is kept in Redis, which expires it by itself; purging the rest")
    url = settings.resolved_database_url

    async def purge() -> int:
        engine = create_engine(url, timeout=settings.database_timeout_ms / 1000)
        try:
            return await purgeables(settings, engine).purge_expired(utc_now())
        finally:
            await engine.dispose()

    try:
        removed = asyncio.run(purge())
    except (OSError, SQLAlchemyError) as exc:
        where = make_url(url).render_as_string(hide_password=True)
        print(
            f"meterwall meter purge: cannot purge the database at {where}: {exc}", file=sys.stderr
        )
        return 1
    print(f"deleted {removed:,} expired row(s)")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``meter`` to the ``meterwall`` command."""
    meter = sub.add_parser("meter", help="readers' meters: housekeeping")
    actions = meter.add_subparsers(dest="action", required=True, metavar="ACTION")
    purge = actions.add_parser(
        "purge",
        help="delete expired meter rows (SQL meter store), limit counters and webhook payloads",
    )
    purge.set_defaults(func=cmd_meter_purge)
