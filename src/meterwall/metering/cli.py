"""The meter commands: ``meterwall meter purge``."""

from __future__ import annotations

import argparse
import asyncio
import sys

from meterwall.settings import load_settings


def cmd_meter_purge(args: argparse.Namespace) -> int:
    """Delete SQL meter rows whose period has ended (Redis expires its own)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from meterwall.app import utc_now
    from meterwall.metering.sql import SqlMeterStore
    from meterwall.storage.engine import create_engine

    settings = load_settings(getattr(args, "config", None))
    if settings.meter_store != "sql":
        print("the meter is kept in Redis, which expires it by itself: nothing to purge")
        return 0
    url = settings.resolved_database_url

    async def purge() -> int:
        engine = create_engine(url, timeout=settings.database_timeout_ms / 1000)
        try:
            return await SqlMeterStore(engine).purge_expired(utc_now())
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
    print(f"deleted {removed:,} expired meter row(s)")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``meter`` to the ``meterwall`` command."""
    meter = sub.add_parser("meter", help="readers' meters: housekeeping")
    actions = meter.add_subparsers(dest="action", required=True, metavar="ACTION")
    purge = actions.add_parser(
        "purge", help="delete meter rows whose period has ended (SQL meter store)"
    )
    purge.set_defaults(func=cmd_meter_purge)
