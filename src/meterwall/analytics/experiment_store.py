"""Experiments in the configured database.

At most one experiment runs at a time: its results are then read without
another test's variants mixed into them, and a reader's policy is the base
policy with one change.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.analytics.experiments import Experiment, Parameter, Variant
from meterwall.storage.engine import IMMEDIATE
from meterwall.storage.schema import experiments
from meterwall.storage.times import utc


class ExperimentConflict(Exception):
    """Another experiment is running, or this id is taken."""


def _experiment(row: RowMapping) -> Experiment:
    return Experiment(
        id=row["id"],
        name=row["name"],
        parameter=Parameter(row["parameter"]),
        target=row["target"],
        variants=tuple(Variant(v["name"], v["value"]) for v in json.loads(row["variants"])),
        started_at=utc(row["started_at"]),
        stopped_at=utc(row["stopped_at"]) if row["stopped_at"] is not None else None,
        created_by=row["created_by"],
    )


class ExperimentStore:
    """Creates, lists and stops experiments."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def running(self) -> Experiment | None:
        """The experiment readers are being assigned to, if any."""
        query = (
            select(experiments)
            .where(experiments.c.stopped_at.is_(None))
            .order_by(experiments.c.started_at.desc())
            .limit(1)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return _experiment(row) if row else None

    async def get(self, experiment_id: str) -> Experiment | None:
        """The experiment with this id, if any."""
        async with self._engine.connect() as conn:
            row = (
                (await conn.execute(select(experiments).where(experiments.c.id == experiment_id)))
                .mappings()
                .first()
            )
        return _experiment(row) if row else None

    async def all(self) -> list[Experiment]:
        """Every experiment, newest first."""
        async with self._engine.connect() as conn:
            rows = (
                (await conn.execute(select(experiments).order_by(experiments.c.started_at.desc())))
                .mappings()
                .all()
            )
        return [_experiment(r) for r in rows]

    async def start(self, experiment: Experiment) -> None:
        """Store and start ``experiment``; :class:`ExperimentConflict` if one is running."""
        async with self._engine.connect() as raw:
            # The write lock from the start, so two starts at once cannot both pass the check.
            conn = await raw.execution_options(**{IMMEDIATE: True})
            async with conn.begin():
                clash = (
                    await conn.execute(
                        select(experiments.c.id).where(
                            experiments.c.stopped_at.is_(None) | (experiments.c.id == experiment.id)
                        )
                    )
                ).first()
                if clash is not None:
                    raise ExperimentConflict(
                        "Another experiment is running. Stop it before starting a new one."
                    )
                await conn.execute(
                    insert(experiments).values(
                        id=experiment.id,
                        name=experiment.name,
                        parameter=experiment.parameter.value,
                        target=experiment.target,
                        variants=json.dumps(
                            [{"name": v.name, "value": v.value} for v in experiment.variants]
                        ),
                        created_by=experiment.created_by,
                        started_at=experiment.started_at.astimezone(UTC),
                    )
                )

    async def stop(self, experiment_id: str, now: datetime) -> bool:
        """Stop assigning readers; whether a running experiment was stopped."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(experiments)
                .where(experiments.c.id == experiment_id, experiments.c.stopped_at.is_(None))
                .values(stopped_at=now.astimezone(UTC))
            )
        return result.rowcount == 1
