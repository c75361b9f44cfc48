"""Access domain: the facts ``decide()`` reads and the decision it returns.

Glossary
--------
ArticleAccess
    The few facts about an article that access depends on (id, section, tags,
    access level). Built from a stored :class:`~meterwall.content.model.Article`
    or, in proxy mode, from an upstream page's markup.
Period
    The window a meter counts over: a calendar month in the publisher's time
    zone, or a rolling window of N days.
MeterState
    What the meter store answered for this request: how many articles this
    reader has used in the period and whether this article is (now) counted.
ReaderState
    Everything known about the reader that access depends on.
Decision
    ``granted`` | ``metered`` | ``regwall`` | ``paywall`` | ``crawler``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal


class AccessLevel(StrEnum):
    """How an article is offered: free to all, under the meter, or subscribers only."""

    FREE = "free"
    METERED = "metered"
    PREMIUM = "premium"


@dataclass(frozen=True, slots=True)
class ArticleAccess:
    """The facts about one article that access depends on."""

    id: str
    access: AccessLevel = AccessLevel.METERED
    section: str = ""
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CalendarMonth:
    """A meter period that resets on the first of each month in the publisher's time zone."""

    kind: Literal["calendar_month"] = "calendar_month"


@dataclass(frozen=True, slots=True)
class RollingDays:
    """A meter period covering the last ``days`` days, sliding with time."""

    days: int
    kind: Literal["rolling_days"] = "rolling_days"


Period = CalendarMonth | RollingDays


@dataclass(frozen=True, slots=True)
class Policy:
    """The publisher's meter rules.

    ``search_referral_allowance`` (0 = off) is a separate, small allowance of
    extra reads per period for readers arriving from a search engine once
    their meter is spent.

    ``anonymous_limit`` and ``registered_limit`` are the number of metered
    articles a reader may open per period; 0 makes a hard paywall.  When
    ``regwall`` is on, an anonymous reader at the limit is asked to register
    (free) instead of being shown the paywall.
    """

    anonymous_limit: int = 5
    registered_limit: int = 5
    period: Period = CalendarMonth()
    timezone: str = "UTC"
    exempt_sections: frozenset[str] = frozenset()
    exempt_tags: frozenset[str] = frozenset()
    lede_words: int = 0
    regwall: bool = False
    verified_crawlers_full_text: bool = True
    search_referral_allowance: int = 0

    def __post_init__(self) -> None:
        if min(self.anonymous_limit, self.registered_limit, self.search_referral_allowance) < 0:
            raise ValueError("meter limits must be 0 or more")
        if isinstance(self.period, RollingDays) and self.period.days < 1:
            raise ValueError("a rolling period needs at least 1 day")


class Entitlement(StrEnum):
    """A reason a reader may read everything (or one article) without the meter."""

    SUBSCRIPTION = "subscription"
    GROUP_LICENCE = "group_licence"
    GIFT = "gift"
    TRIAL = "trial"
    COMPLIMENTARY = "complimentary"


@dataclass(frozen=True, slots=True)
class MeterState:
    """The meter store's answer for this reader, period and article.

    ``counted`` is true when this article is among the reader's counted
    articles for the period (newly recorded or read before); ``used`` is the
    number of distinct articles counted in the period after this request.
    """

    used: int
    counted: bool


@dataclass(frozen=True, slots=True)
class ReaderState:
    """What access depends on about the reader making this request.

    ``search_referral`` says the request arrived from a search engine (by the
    Referer header, which a client can forge: that is why such reads only
    ever draw on their own small allowance, ``referral_meter``).  ``network``
    is the client's network (IPv4 address or IPv6 /64), for the optional
    budget of new anonymous readers per network.
    """

    reader_id: str
    registered: bool = False
    entitlements: frozenset[Entitlement] = frozenset()
    gift_article_id: str | None = None
    verified_crawler: bool = False
    search_referral: bool = False
    meter: MeterState | None = None
    referral_meter: MeterState | None = None
    network: str = ""


@dataclass(frozen=True, slots=True)
class Granted:
    """Full text, without the meter: a free or exempt article, a subscriber, a gift."""

    reason: str
    outcome: Literal["granted"] = "granted"


@dataclass(frozen=True, slots=True)
class Metered:
    """Full text, counted by the meter: ``used`` of ``limit`` this period."""

    used: int
    limit: int
    outcome: Literal["metered"] = "metered"


@dataclass(frozen=True, slots=True)
class Regwall:
    """Teaser and a free registration offer: the anonymous allowance is used up."""

    used: int
    limit: int
    outcome: Literal["regwall"] = "regwall"


@dataclass(frozen=True, slots=True)
class Paywall:
    """Teaser and the subscription offer."""

    used: int
    limit: int
    premium: bool = False
    outcome: Literal["paywall"] = "paywall"


@dataclass(frozen=True, slots=True)
class Crawler:
    """Full text for a verified search crawler, with paywall markup."""

    outcome: Literal["crawler"] = "crawler"


Decision = Granted | Metered | Regwall | Paywall | Crawler

FULL_TEXT_OUTCOMES: frozenset[str] = frozenset({"granted", "metered", "crawler"})


def shows_full_text(decision: Decision) -> bool:
    """Whether the reader receives the whole body (otherwise the teaser only)."""
    return decision.outcome in FULL_TEXT_OUTCOMES


@dataclass(frozen=True, slots=True)
class MeterWindow:
    """The span a meter counts over for one request.

    ``key`` names the bucket (``"2026-11"`` for a calendar month, ``"r30"``
    for a 30-day rolling window); reads before ``since`` no longer count;
    ``expires`` is when everything recorded now may be forgotten;
    ``resets_at`` is when the reader gets a fresh allowance (for a rolling
    window, when the oldest counted read leaves it, known only to the store).
    """

    key: str
    since: datetime
    expires: datetime
    resets_at: datetime | None = field(default=None)
