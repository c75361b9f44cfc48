"""Billing domain: subscriptions as Stripe reports them, and what they entitle.

Glossary
--------
SubscriptionSnapshot
    A subscription's state as last read from Stripe: status, whether it ends
    at the period end, the dates.  Local state is always replaced by the
    newest snapshot, never patched event by event, so duplicated or
    reordered webhooks cannot leave a wrong entitlement behind.
Entitling status
    ``active`` and ``trialing`` give full access; ``past_due`` gives it for a
    grace period from when it was first seen; ``canceled``, ``unpaid``,
    ``incomplete`` and ``incomplete_expired`` give none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from meterwall.access.model import Entitlement

ENTITLING = frozenset({"active", "trialing"})

ENDED = frozenset({"canceled", "incomplete_expired"})
"""Statuses after which a subscription can never charge again."""


@dataclass(frozen=True, slots=True)
class SubscriptionSnapshot:
    """A subscription as the payment provider reports it."""

    id: str
    customer_id: str
    status: str
    cancel_at_period_end: bool = False
    current_period_end: datetime | None = None
    trial_end: datetime | None = None
    account_id: str | None = None
    offer_id: str = ""
    payment_error: str | None = None


@dataclass(frozen=True, slots=True)
class StoredSubscription:
    """A subscription as meterwall keeps it."""

    id: str
    account_id: str
    customer_id: str
    offer_id: str
    status: str
    cancel_at_period_end: bool
    current_period_end: datetime | None
    trial_end: datetime | None
    past_due_since: datetime | None
    updated_at: datetime


def entitlement_of(
    status: str, past_due_since: datetime | None, now: datetime, grace: timedelta
) -> Entitlement | None:
    """What a subscription in ``status`` entitles its holder to at ``now``."""
    if status == "trialing":
        return Entitlement.TRIAL
    if status == "active":
        return Entitlement.SUBSCRIPTION
    if status == "past_due" and past_due_since is not None and now - past_due_since <= grace:
        return Entitlement.SUBSCRIPTION
    return None


def past_due_since(
    new_status: str, old_status: str | None, old_since: datetime | None, now: datetime
) -> datetime | None:
    """When the current past-due spell began (kept across repeated reports of it)."""
    if new_status != "past_due":
        return None
    if old_status == "past_due" and old_since is not None:
        return old_since
    return now


@dataclass(frozen=True, slots=True)
class Grant:
    """Complimentary access given by staff: to whom, why, and until when (``None``: revoked
    by hand only)."""

    id: str
    account_id: str
    email: str
    granted_at: datetime
    expires_at: datetime | None
    note: str

    def live(self, now: datetime) -> bool:
        """Whether the grant gives access at ``now``."""
        return self.expires_at is None or self.expires_at > now
