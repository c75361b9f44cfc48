"""The funnel: visitors → metered readers → hit the wall → registered → checkout → subscribed.

Each stage counts distinct readers (pseudonyms) who did that stage's thing in
the period.  A metered reader is one the meter applied to (an article counted,
or the wall), so everyone who hit the wall is a metered reader too.  A person
followed across signing up (see :mod:`meterwall.analytics.identities`) counts
once.  A stage's conversion is its count over the stage before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.analytics.events import EventKind
from meterwall.analytics.identities import Links, load_links
from meterwall.analytics.periods import Grain, label, period_start, periods
from meterwall.storage.schema import events


@dataclass(frozen=True, slots=True)
class Stage:
    """One step of the funnel and the events that put a reader in it."""

    key: str
    name: str
    kinds: frozenset[EventKind]


STAGES: tuple[Stage, ...] = (
    Stage("visitors", "Visitors", frozenset({EventKind.PAGE_VIEW})),
    Stage(
        "metered",
        "Metered readers",
        frozenset(
            {
                EventKind.METER_NOTICE,
                EventKind.REGWALL_IMPRESSION,
                EventKind.PAYWALL_IMPRESSION,
            }
        ),
    ),
    Stage(
        "wall",
        "Hit the wall",
        frozenset({EventKind.REGWALL_IMPRESSION, EventKind.PAYWALL_IMPRESSION}),
    ),
    Stage("registered", "Registered", frozenset({EventKind.REGISTRATION})),
    Stage("checkout", "Started checkout", frozenset({EventKind.CHECKOUT_STARTED})),
    Stage("subscribed", "Subscribed", frozenset({EventKind.SUBSCRIBED})),
)

_STAGES_OF: dict[str, list[str]] = {}
for _stage in STAGES:
    for _kind in _stage.kinds:
        _STAGES_OF.setdefault(_kind.value, []).append(_stage.key)


@dataclass(frozen=True, slots=True)
class FunnelRow:
    """The funnel of one period."""

    start: date
    label: str
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class Funnel:
    """The funnel per period, and for the whole range."""

    grain: Grain
    first: date
    last: date
    rows: list[FunnelRow]
    totals: dict[str, int]

    def conversion(self, index: int, counts: dict[str, int] | None = None) -> float | None:
        """Stage ``index`` over the stage before it (None for the first stage or an empty one)."""
        values = self.totals if counts is None else counts
        if index == 0:
            return None
        before = values[STAGES[index - 1].key]
        return values[STAGES[index].key] / before if before else None

    def overall(self, counts: dict[str, int] | None = None) -> float | None:
        """Subscribed over visitors."""
        values = self.totals if counts is None else counts
        visitors = values["visitors"]
        return values["subscribed"] / visitors if visitors else None


def build_funnel(
    rows: Iterable[tuple[str, str, str]],
    first: date,
    last: date,
    grain: Grain,
    links: Links | None = None,
) -> Funnel:
    """The funnel of ``(day, kind, reader)`` rows between ``first`` and ``last`` (inclusive)."""
    links = links or Links()
    starts = periods(first, last, grain)
    seen: dict[date, dict[str, set[str]]] = {s: {st.key: set() for st in STAGES} for s in starts}
    whole: dict[str, set[str]] = {st.key: set() for st in STAGES}
    for day_text, kind, reader in rows:
        stages = _STAGES_OF.get(kind)
        day = date.fromisoformat(day_text)
        if stages is None or not first <= day <= last:
            continue
        person = links.person(reader)
        for stage in stages:
            seen[period_start(day, grain)][stage].add(person)
            whole[stage].add(person)
    return Funnel(
        grain=grain,
        first=first,
        last=last,
        rows=[
            FunnelRow(s, label(s, grain), {k: len(v) for k, v in seen[s].items()}) for s in starts
        ],
        totals={k: len(v) for k, v in whole.items()},
    )


async def funnel_report(engine: AsyncEngine, first: date, last: date, grain: Grain) -> Funnel:
    """The funnel stored in the events table for this range."""
    query = (
        select(events.c.day, events.c.kind, events.c.reader)
        .where(
            events.c.day >= first.isoformat(),
            events.c.day <= last.isoformat(),
            events.c.kind.in_(list(_STAGES_OF)),
        )
        .distinct()
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    links = await load_links(engine)
    return build_funnel(((r.day, r.kind, r.reader) for r in rows), first, last, grain, links)
