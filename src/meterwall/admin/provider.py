"""The policy provider: the live policy for each request, without a restart.

Each worker keeps the newest policy version and the running experiment for
``refresh_seconds``, then checks the database again (one small query), so
every worker applies a change within that time.  If the database cannot be
read, the last known policy stays in force; if nothing was ever read, the
settings file's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError

from meterwall.access.live import LivePolicy, PolicyDocument
from meterwall.access.model import Policy
from meterwall.admin.policies import PolicyVersionStore
from meterwall.analytics.experiment_store import ExperimentStore
from meterwall.analytics.experiments import Assignment, Experiment, apply_variant, assign

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    base: LivePolicy
    experiment: Experiment | None
    fetched_at: float


class PolicyProvider:
    """Serves the live policy: newest version, plus the reader's experiment variant."""

    def __init__(
        self,
        fallback: PolicyDocument,
        versions: PolicyVersionStore,
        experiments: ExperimentStore,
        refresh_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fallback = fallback
        self.versions = versions
        self.experiments = experiments
        self._refresh = refresh_seconds
        self._monotonic = monotonic
        self._snapshot = _Snapshot(LivePolicy.of(fallback, 0), None, float("-inf"))
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Read the database again on the next request (after a save in this worker)."""
        self._snapshot = _Snapshot(self._snapshot.base, self._snapshot.experiment, float("-inf"))

    async def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        if self._monotonic() - snapshot.fetched_at < self._refresh:
            return snapshot
        async with self._lock:
            snapshot = self._snapshot
            if self._monotonic() - snapshot.fetched_at < self._refresh:
                return snapshot
            self._snapshot = await self._load(snapshot)
            return self._snapshot

    async def _load(self, previous: _Snapshot) -> _Snapshot:
        now = self._monotonic()
        try:
            newest = await self.versions.newest_id()
            base = previous.base
            if newest != base.version:
                version = await self.versions.get(newest) if newest else None
                base = (
                    LivePolicy.of(version.document, newest)
                    if version
                    else LivePolicy.of(self.fallback, 0)
                )
            experiment = await self.experiments.running()
        except ValidationError as exc:
            log.error("the newest policy version is not valid; keeping the last one: %s", exc)
            return _Snapshot(previous.base, previous.experiment, now)
        except Exception as exc:
            # The database is unreachable: keep serving the policy last read.
            log.warning("could not refresh the policy; keeping the last one: %s", exc)
            return _Snapshot(previous.base, previous.experiment, now)
        return _Snapshot(base, experiment, now)

    async def base(self) -> LivePolicy:
        """The policy in force, without any experiment."""
        return (await self._current()).base

    async def running_experiment(self) -> Experiment | None:
        """The experiment readers are being assigned to, as this worker last read it."""
        return (await self._current()).experiment

    async def for_reader(self, reader_id: str) -> LivePolicy:
        """The policy this reader gets: the base policy with their variant laid over it."""
        snapshot = await self._current()
        experiment = snapshot.experiment
        if experiment is None:
            return snapshot.base
        names = [v.name for v in experiment.variants]
        return apply_variant(snapshot.base, experiment, assign(experiment.id, reader_id, names))

    async def policy_for(self, reader_id: str) -> Policy:
        """The meter policy this reader gets (what the access service decides with)."""
        return (await self.for_reader(reader_id)).policy

    def assignment(self, reader_id: str) -> Assignment | None:
        """The reader's variant of the running experiment as last read (no I/O)."""
        experiment = self._snapshot.experiment
        if experiment is None:
            return None
        names = [v.name for v in experiment.variants]
        return Assignment(experiment.id, assign(experiment.id, reader_id, names))
