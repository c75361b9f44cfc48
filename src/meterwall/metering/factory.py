"""Choosing the meter store adapter from settings."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.metering.ports import MeterStore
from meterwall.metering.sql import SqlMeterStore
from meterwall.settings import Settings


def build_meter_store(settings: Settings, engine: AsyncEngine) -> MeterStore:
    """The meter store the settings ask for (the SQL database by default)."""
    del settings  # only the SQL adapter exists so far; Redis is chosen here once it does
    return SqlMeterStore(engine)
