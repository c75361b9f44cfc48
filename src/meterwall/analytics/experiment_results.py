"""An experiment's results: per variant, readers, conversions and the search guardrail.

A reader is in a variant once they viewed an article while assigned to it.
They convert when they (or the account they signed up for) subscribe after
the experiment started.  The guardrail is each variant's share of readers who
arrived from a search engine at least once: Google warns that a tighter meter
can cost search traffic, and this is where that would show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.analytics.events import WALL_KINDS, EventKind
from meterwall.analytics.experiments import Arm, Experiment, wilson_interval
from meterwall.analytics.identities import Links, load_links
from meterwall.analytics.referrers import ReferrerClass
from meterwall.storage.schema import events
from meterwall.storage.times import utc


@dataclass(frozen=True, slots=True)
class VariantResult:
    """One variant's row on the results page."""

    arm: Arm
    walled: int
    from_search: int

    @property
    def search_share(self) -> float | None:
        """The share of the variant's readers who arrived from search."""
        return self.from_search / self.arm.readers if self.arm.readers else None

    @property
    def search_interval(self) -> tuple[float, float]:
        """The 95% Wilson interval of the search share."""
        return wilson_interval(self.from_search, self.arm.readers)


def build_results(
    experiment: Experiment,
    views: Iterable[tuple[str, str, str]],
    walls: Iterable[tuple[str, str]],
    subscribers: Iterable[str],
    links: Links,
) -> list[VariantResult]:
    """Results from ``(variant, reader, referrer)`` views, ``(variant, reader)`` walls and the
    pseudonyms that subscribed since the experiment started."""
    readers: dict[str, set[str]] = {v.name: set() for v in experiment.variants}
    searched: dict[str, set[str]] = {v.name: set() for v in experiment.variants}
    walled: dict[str, set[str]] = {v.name: set() for v in experiment.variants}
    for variant, reader, referrer in views:
        if variant in readers:
            readers[variant].add(reader)
            if referrer == ReferrerClass.SEARCH.value:
                searched[variant].add(reader)
    for variant, reader in walls:
        if variant in walled:
            walled[variant].add(reader)
    converted_people = {links.person(s) for s in subscribers}
    return [
        VariantResult(
            arm=Arm(
                name=name,
                readers=len(members),
                conversions=sum(1 for r in members if links.person(r) in converted_people),
            ),
            walled=len(walled[name]),
            from_search=len(searched[name]),
        )
        for name, members in readers.items()
    ]


async def experiment_results(engine: AsyncEngine, experiment: Experiment) -> list[VariantResult]:
    """The results of ``experiment`` from the events table."""
    ours = events.c.experiment == experiment.id
    views_query = (
        select(events.c.variant, events.c.reader, events.c.referrer)
        .where(ours, events.c.kind == EventKind.PAGE_VIEW.value)
        .distinct()
    )
    walls_query = (
        select(events.c.variant, events.c.reader)
        .where(ours, events.c.kind.in_([k.value for k in WALL_KINDS]))
        .distinct()
    )
    subs_query = (
        select(events.c.reader)
        .where(
            events.c.kind == EventKind.SUBSCRIBED.value,
            events.c.at >= utc(experiment.started_at),
        )
        .distinct()
    )
    async with engine.connect() as conn:
        views = [(r.variant, r.reader, r.referrer) for r in await conn.execute(views_query)]
        walls = [(r.variant, r.reader) for r in await conn.execute(walls_query)]
        subs = [r.reader for r in await conn.execute(subs_query)]
    return build_results(experiment, views, walls, subs, await load_links(engine))
