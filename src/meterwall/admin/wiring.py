"""Building the dashboard's parts from settings (called by the composition root)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.access.live import PolicyDocument
from meterwall.admin.auth import StaffAuth
from meterwall.admin.policies import PolicyVersionStore
from meterwall.admin.provider import PolicyProvider
from meterwall.admin.staff import StaffDirectory
from meterwall.analytics.events import Pseudonyms
from meterwall.analytics.experiment_store import ExperimentStore
from meterwall.analytics.recorder import EventRecorder
from meterwall.analytics.sql import SqlEventStore
from meterwall.analytics.writer import BatchedEventWriter
from meterwall.settings import Settings


@dataclass(frozen=True, slots=True)
class Dashboard:
    """What the admin pages use besides the shared services."""

    auth: StaffAuth
    staff: StaffDirectory
    versions: PolicyVersionStore
    experiments: ExperimentStore
    engine: AsyncEngine


def build_policy_provider(settings: Settings, engine: AsyncEngine) -> PolicyProvider:
    """The live policy provider, falling back to the settings file's policy."""
    return PolicyProvider(
        PolicyDocument.from_settings(settings),
        PolicyVersionStore(engine),
        ExperimentStore(engine),
        settings.admin.policy_refresh_seconds,
    )


def build_event_recorder(
    settings: Settings, engine: AsyncEngine, secret: str, policies: PolicyProvider
) -> EventRecorder:
    """The event recorder, writing in batches to the configured database."""
    store = SqlEventStore(engine)
    analytics = settings.analytics
    writer = BatchedEventWriter(
        store,
        batch_size=analytics.flush_every_events,
        interval=analytics.flush_interval_ms / 1_000,
        max_buffered=max(analytics.max_buffered_events, analytics.flush_every_events),
    )
    return EventRecorder(
        writer,
        store,
        Pseudonyms(secret),
        timezone=settings.policy.timezone,
        own_hosts={urlsplit(settings.public_url).hostname or ""},
        retention_days=analytics.retention_days,
        clock=lambda: datetime.now(UTC),
        assignment=policies.assignment,
    )


def build_dashboard(settings: Settings, engine: AsyncEngine, keys: Sequence[str]) -> Dashboard:
    """Staff sign-in and the dashboard's stores."""
    staff = StaffDirectory(engine, settings.admin.login_failures_allowed)
    return Dashboard(
        auth=StaffAuth(
            staff,
            keys,
            public_url=settings.public_url,
            session_hours=settings.admin.session_hours,
        ),
        staff=staff,
        versions=PolicyVersionStore(engine),
        experiments=ExperimentStore(engine),
        engine=engine,
    )
