"""The pure access rules: who may read what, and over which window the meter counts.

Nothing here does I/O or reads the clock; the caller passes ``now``.  That is
what lets the rules be tested exhaustively with plain objects.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from meterwall.access.model import (
    AccessLevel,
    ArticleAccess,
    CalendarMonth,
    Crawler,
    Decision,
    Entitlement,
    Granted,
    Metered,
    MeterWindow,
    Paywall,
    Policy,
    ReaderState,
    Regwall,
)

_FULL_ACCESS = (
    Entitlement.SUBSCRIPTION,
    Entitlement.COMPLIMENTARY,
    Entitlement.GROUP_LICENCE,
    Entitlement.TRIAL,
)


def limit_for(reader: ReaderState, policy: Policy) -> int:
    """The number of metered articles this reader may open per period."""
    return policy.registered_limit if reader.registered else policy.anonymous_limit


def _without_meter(article: ArticleAccess, reader: ReaderState, policy: Policy) -> Decision | None:
    """The decision when the meter has no say in it, else ``None``."""
    if article.access is AccessLevel.FREE:
        return Granted("free")
    for entitlement in _FULL_ACCESS:
        if entitlement in reader.entitlements:
            return Granted(entitlement.value)
    if reader.gift_article_id is not None and reader.gift_article_id == article.id:
        return Granted(Entitlement.GIFT.value)
    if reader.verified_crawler and policy.verified_crawlers_full_text:
        return Crawler()
    if article.access is AccessLevel.PREMIUM:
        return Paywall(used=0, limit=limit_for(reader, policy), premium=True)
    if article.section in policy.exempt_sections or not article.tags.isdisjoint(policy.exempt_tags):
        return Granted("exempt")
    return None


def meter_applies(article: ArticleAccess, reader: ReaderState, policy: Policy) -> bool:
    """Whether this request must consult the meter before it can be decided."""
    return _without_meter(article, reader, policy) is None


def referral_applies(reader: ReaderState, policy: Policy) -> bool:
    """Whether a search referral may draw on its own allowance, the meter being spent."""
    return (
        policy.search_referral_allowance > 0
        and reader.search_referral
        and reader.meter is not None
        and not reader.meter.counted
    )


def decide(article: ArticleAccess, reader: ReaderState, policy: Policy, now: datetime) -> Decision:
    """Decide what this reader gets of this article.

    ``reader.meter`` is the meter store's answer for this article, required
    when :func:`meter_applies`; without it a metered article is gated (the
    safe answer).  ``now`` is accepted so time-based rules stay pure.
    """
    del now  # part of the contract; the current rules need no clock beyond the window
    settled = _without_meter(article, reader, policy)
    if settled is not None:
        return settled
    limit = limit_for(reader, policy)
    meter = reader.meter
    used = meter.used if meter is not None else 0
    if meter is not None and meter.counted:
        return Metered(used=used, limit=limit)
    if reader.referral_meter is not None and reader.referral_meter.counted:
        return Granted("search_referral")
    if policy.regwall and not reader.registered:
        return Regwall(used=used, limit=limit)
    return Paywall(used=used, limit=limit)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def meter_window(policy: Policy, now: datetime) -> MeterWindow:
    """The meter window that contains ``now`` (an aware datetime)."""
    if isinstance(policy.period, CalendarMonth):
        local = now.astimezone(_zone(policy.timezone))
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        if start.month == 12:
            end = start.replace(year=start.year + 1, month=1)
        else:
            end = start.replace(month=start.month + 1)
        return MeterWindow(
            key=f"{start.year:04d}-{start.month:02d}",
            since=start,
            expires=end,
            resets_at=end,
        )
    span = timedelta(days=policy.period.days)
    return MeterWindow(key=f"r{policy.period.days}", since=now - span, expires=now + span)
