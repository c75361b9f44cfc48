"""Which articles bring readers to the wall, and which convert.

A subscription is attributed to the last article at which that person (any
of their linked pseudonyms) hit the wall before subscribing; if they never
hit the wall, to the article the subscription event names, if any.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.analytics.events import WALL_KINDS, EventKind
from meterwall.analytics.identities import Links, load_links
from meterwall.storage.schema import events
from meterwall.storage.times import utc

_WALL = [k.value for k in WALL_KINDS]


@dataclass(frozen=True, slots=True)
class ArticleRow:
    """One article's part in the funnel over a range."""

    article_id: str
    section: str
    views: int
    readers: int
    wall_impressions: int
    wall_readers: int
    subscriptions: int

    @property
    def conversion(self) -> float | None:
        """Attributed subscriptions per reader who hit the wall here."""
        return self.subscriptions / self.wall_readers if self.wall_readers else None


SORT_KEYS = ("views", "readers", "wall_impressions", "wall_readers", "subscriptions", "conversion")


def attribute(
    subscriptions: Iterable[tuple[str, datetime, str]],
    walls: Iterable[tuple[str, datetime, str]],
    links: Links,
) -> Counter[str]:
    """Subscriptions per article: each ``(reader, at, article)`` subscription goes to the last
    wall ``(reader, at, article)`` of the same person at or before it."""
    last_walls: dict[str, list[tuple[datetime, str]]] = {}
    for reader, at, article in walls:
        last_walls.setdefault(links.person(reader), []).append((at, article))
    for seen in last_walls.values():
        seen.sort()
    counts: Counter[str] = Counter()
    for reader, at, article in subscriptions:
        before = [a for when, a in last_walls.get(links.person(reader), []) if when <= at]
        chosen = before[-1] if before else article
        if chosen:
            counts[chosen] += 1
    return counts


def sort_rows(rows: Sequence[ArticleRow], key: str, descending: bool = True) -> list[ArticleRow]:
    """Rows sorted by one of :data:`SORT_KEYS`; articles without a value (no conversion) last."""
    if key not in SORT_KEYS:
        key = "wall_impressions"
    present = [r for r in rows if getattr(r, key) is not None]
    missing = sorted((r for r in rows if getattr(r, key) is None), key=lambda r: r.article_id)
    present.sort(key=lambda r: r.article_id)
    present.sort(key=lambda r: float(getattr(r, key)), reverse=descending)
    return present + missing


async def article_report(engine: AsyncEngine, first: date, last: date) -> list[ArticleRow]:
    """Every article seen in the range, with its views, wall impressions and conversions."""
    in_range = (events.c.day >= first.isoformat(), events.c.day <= last.isoformat())
    views_query = (
        select(
            events.c.article_id,
            func.max(events.c.section).label("section"),
            func.count().label("views"),
            func.count(events.c.reader.distinct()).label("readers"),
        )
        .where(*in_range, events.c.kind == EventKind.PAGE_VIEW.value, events.c.article_id != "")
        .group_by(events.c.article_id)
    )
    walls_query = (
        select(
            events.c.article_id,
            func.count().label("impressions"),
            func.count(events.c.reader.distinct()).label("readers"),
        )
        .where(*in_range, events.c.kind.in_(_WALL), events.c.article_id != "")
        .group_by(events.c.article_id)
    )
    subs_query = select(events.c.reader, events.c.at, events.c.article_id).where(
        *in_range, events.c.kind == EventKind.SUBSCRIBED.value
    )
    async with engine.connect() as conn:
        views = {r.article_id: r for r in (await conn.execute(views_query)).all()}
        walls = {r.article_id: r for r in (await conn.execute(walls_query)).all()}
        subs = [(r.reader, utc(r.at), r.article_id) for r in (await conn.execute(subs_query))]
    links = await load_links(engine)
    attributed = await _attributed(engine, subs, links)
    rows = []
    for article_id in set(views) | set(walls) | set(attributed):
        seen, walled = views.get(article_id), walls.get(article_id)
        rows.append(
            ArticleRow(
                article_id=article_id,
                section=seen.section if seen else "",
                views=seen.views if seen else 0,
                readers=seen.readers if seen else 0,
                wall_impressions=walled.impressions if walled else 0,
                wall_readers=walled.readers if walled else 0,
                subscriptions=attributed.get(article_id, 0),
            )
        )
    return sort_rows(rows, "wall_impressions")


async def _attributed(
    engine: AsyncEngine, subs: list[tuple[str, datetime, str]], links: Links
) -> Counter[str]:
    if not subs:
        return Counter()
    people = {links.person(reader) for reader, _at, _article in subs}
    names = sorted(_members(links, people))
    walls: list[tuple[str, datetime, str]] = []
    async with engine.connect() as conn:
        for i in range(0, len(names), 500):
            query = select(events.c.reader, events.c.at, events.c.article_id).where(
                events.c.kind.in_(_WALL), events.c.reader.in_(names[i : i + 500])
            )
            walls.extend((r.reader, utc(r.at), r.article_id) for r in await conn.execute(query))
    return attribute(subs, walls, links)


def _members(links: Links, people: set[str]) -> set[str]:
    """Every pseudonym belonging to one of ``people`` (themselves included)."""
    found = set(people)
    for name in links.names():
        if links.person(name) in people:
            found.add(name)
    return found
