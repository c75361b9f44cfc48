"""The access service: load what is known about the reader, consult the meter, decide.

This is the only place where the pure rules meet the meter store.  A meter
store that cannot be reached never becomes an error page: the publisher's
``meter_failure`` setting says whether such a request is let through with a
notice (``open``) or shown the teaser (``closed``).

With a budget of new readers per network (``new_readers_per_network_per_hour``,
ATTACKS.md row 31), an anonymous reader must first be admitted among the
distinct anonymous readers of their client network this hour; one who is not
is answered as if their meter were spent (the teaser, never an error), and
nothing is counted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from meterwall.access.model import (
    ArticleAccess,
    Decision,
    Granted,
    MeterState,
    MeterWindow,
    Policy,
    ReaderState,
)
from meterwall.access.policy import (
    decide,
    limit_for,
    meter_applies,
    meter_window,
    referral_applies,
)
from meterwall.metering.ports import CountedRead, MeterStore, MeterUnavailable

log = logging.getLogger(__name__)

METER_UNAVAILABLE = "meter_unavailable"


def referral_meter_id(reader_id: str) -> str:
    """The meter key of a reader's search-referral allowance, kept apart from the meter."""
    return reader_id + "~search"


@dataclass(frozen=True, slots=True)
class MeterReport:
    """A reader's meter for the current period, for the reader's own meter page."""

    window: MeterWindow
    limit: int
    reads: list[CountedRead]
    resets_at: datetime | None


class AccessService:
    """Decides access for one request, recording a meter read atomically when one is due."""

    def __init__(
        self,
        meter: MeterStore,
        policy: Policy,
        meter_failure: Literal["open", "closed"] = "closed",
        policies: Callable[[str], Awaitable[Policy]] | None = None,
        new_readers_per_network: int = 0,
    ) -> None:
        self.meter = meter
        self.policy = policy
        self.meter_failure = meter_failure
        self._policies = policies
        self.new_readers_per_network = new_readers_per_network

    async def policy_for(self, reader_id: str) -> Policy:
        """The policy in force for this reader: the live one when a provider is given
        (edited in the dashboard, with the reader's experiment variant), else ``policy``."""
        if self._policies is None:
            return self.policy
        return await self._policies(reader_id)

    async def decide(self, article: ArticleAccess, reader: ReaderState, now: datetime) -> Decision:
        """Decide this request, counting the article against the meter if it is due."""
        policy = await self.policy_for(reader.reader_id)
        if meter_applies(article, reader, policy):
            window = meter_window(policy, now)
            if not await self._admitted(reader, now):
                spent = MeterState(used=limit_for(reader, policy), counted=False)
                return decide(article, replace(reader, meter=spent), policy, now)
            try:
                state = await self.meter.check_and_record(
                    reader.reader_id, window, article.id, limit_for(reader, policy), now
                )
            except MeterUnavailable as exc:
                log.warning("meter store unavailable: %s", exc)
                if self.meter_failure == "open":
                    return Granted(METER_UNAVAILABLE)
                return decide(article, reader, policy, now)
            reader = replace(reader, meter=state)
            if referral_applies(reader, policy):
                try:
                    extra = await self.meter.check_and_record(
                        referral_meter_id(reader.reader_id),
                        window,
                        article.id,
                        policy.search_referral_allowance,
                        now,
                    )
                except MeterUnavailable as exc:
                    log.warning("meter store unavailable: %s", exc)
                else:
                    reader = replace(reader, referral_meter=extra)
        return decide(article, reader, policy, now)

    async def _admitted(self, reader: ReaderState, now: datetime) -> bool:
        """Whether the new-reader budget (if any) lets this reader's read be metered."""
        if self.new_readers_per_network <= 0 or reader.registered or not reader.network:
            return True
        try:
            return await self.meter.admit(
                reader.network, reader.reader_id, self.new_readers_per_network, now
            )
        except MeterUnavailable as exc:
            # The meter check that follows meets the same store and applies meter_failure.
            log.warning("meter store unavailable: %s", exc)
            return True

    async def report(self, reader: ReaderState, now: datetime) -> MeterReport:
        """What counted against this reader's meter this period, and when it resets."""
        policy = await self.policy_for(reader.reader_id)
        window = meter_window(policy, now)
        reads = await self.meter.counted(reader.reader_id, window)
        resets_at = window.resets_at
        if resets_at is None and reads:
            resets_at = reads[0].counted_at + (window.expires - now)
        return MeterReport(
            window=window, limit=limit_for(reader, policy), reads=reads, resets_at=resets_at
        )

    async def forget(self, reader_id: str, keep_count_at: datetime | None = None) -> None:
        """Delete this reader's meter data (the search-referral allowance too).

        With ``keep_count_at``, what counted in the period in force at that
        moment survives as bare counts (ATTACKS.md row 34: deleting one's
        data must not restart the meter).
        """
        window = None
        if keep_count_at is not None:
            window = meter_window(await self.policy_for(reader_id), keep_count_at)
        await self.meter.forget(reader_id, window)
        await self.meter.forget(referral_meter_id(reader_id), window)
