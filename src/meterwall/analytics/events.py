"""What an event is, and how a reader id becomes a pseudonym."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from meterwall.access.model import Decision, Entitlement, Granted


class EventKind(StrEnum):
    """Everything the funnel counts."""

    PAGE_VIEW = "page_view"
    METER_NOTICE = "meter_notice"
    REGWALL_IMPRESSION = "regwall_impression"
    PAYWALL_IMPRESSION = "paywall_impression"
    REGISTRATION = "registration"
    CHECKOUT_STARTED = "checkout_started"
    SUBSCRIBED = "subscribed"
    CANCELLED = "cancelled"
    GIFT_LINK_OPENED = "gift_link_opened"


WALL_KINDS: frozenset[EventKind] = frozenset(
    {EventKind.REGWALL_IMPRESSION, EventKind.PAYWALL_IMPRESSION}
)
"""The impressions that mean a reader hit the wall."""


@dataclass(frozen=True, slots=True)
class Event:
    """One stored event.

    ``reader`` is a pseudonym, never a reader id.  ``alias`` links two
    pseudonyms of one person: a registration carries the account's pseudonym
    as ``reader`` and the anonymous browser's as ``alias``, which is how a
    subscription is traced back to the articles read before signing up.
    ``day`` is the date in the publisher's time zone, for daily counts.
    """

    kind: EventKind
    at: datetime
    day: str
    reader: str
    alias: str = ""
    article_id: str = ""
    section: str = ""
    referrer: str = ""
    experiment: str = ""
    variant: str = ""


def decision_events(decision: Decision) -> tuple[EventKind, ...]:
    """The events an article request records: a page view, plus what the reader was shown.

    An article opened through a gift link also records ``gift_link_opened``.
    Verified crawlers are not readers, so their requests record nothing.
    """
    if decision.outcome == "crawler":
        return ()
    if isinstance(decision, Granted) and decision.reason == Entitlement.GIFT.value:
        return (EventKind.PAGE_VIEW, EventKind.GIFT_LINK_OPENED)
    shown = {
        "metered": (EventKind.METER_NOTICE,),
        "regwall": (EventKind.REGWALL_IMPRESSION,),
        "paywall": (EventKind.PAYWALL_IMPRESSION,),
    }
    return (EventKind.PAGE_VIEW, *shown.get(decision.outcome, ()))


PSEUDONYM_LENGTH = 32


class Pseudonyms:
    """Turns reader ids into pseudonyms with an HMAC keyed by a server secret.

    The same reader id always gives the same pseudonym (so distinct readers
    can be counted), and without the secret a pseudonym cannot be matched to
    a cookie or an account.  Rotating the secret starts new pseudonyms.
    """

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a non-empty secret is needed to pseudonymise readers")
        self._key = hashlib.sha256(f"meterwall.events:{secret}".encode()).digest()

    def of(self, reader_id: str) -> str:
        """The pseudonym of ``reader_id``."""
        mac = hmac.new(self._key, reader_id.encode(), hashlib.sha256)
        return mac.hexdigest()[:PSEUDONYM_LENGTH]
