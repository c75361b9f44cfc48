"""Deleting a reader's data: "delete my reading data" and "delete my account".

Both reach every reader id of the person: the browser's cookie id, the
account's meter id and every anonymous id a browser used before signing in
(linked to the account at sign-in, in ``account_readers``).

* Reading data: the meter keeps this period's count as a bare number (no
  article ids), so deleting is never a meter reset; the events are cut
  loose from the person and kept only as anonymous counts; the reader stays
  signed in.
* Account: the Stripe subscription is ended and the customer deleted first
  (if Stripe cannot be reached nothing is deleted, and the reader is told);
  then the meter, the events (anonymised as above, with a ``cancelled`` for
  a subscription that was still running, so revenue history stays right),
  and every row about the account go.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Delete, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.analytics.events import EventKind
from meterwall.analytics.revenue import SUBSCRIBER_STATUSES
from meterwall.identity.accounts import Account, meter_key
from meterwall.identity.gifts import recipient_hash
from meterwall.storage.schema import (
    account_readers,
    accounts,
    complimentary_grants,
    gift_links,
    gift_redemptions,
    login_tokens,
    sessions,
    subscriptions,
    webhook_events,
)
from meterwall.storage.transactions import write_transaction

if TYPE_CHECKING:
    from meterwall.app import Services

ERASED_WEBHOOK = "{}"
"""What a stored Stripe notification about an erased account is left holding."""


async def link_reader(engine: AsyncEngine, account_id: str, reader_id: str, now: datetime) -> None:
    """Record that a browser known as ``reader_id`` signed in to the account."""
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(account_readers).values(
                    account_id=account_id, reader_id=reader_id, linked_at=now.astimezone(UTC)
                )
            )
    except IntegrityError:
        pass  # linked already (or the account has just been erased)


async def linked_readers(engine: AsyncEngine, account_id: str) -> list[str]:
    """The anonymous reader ids linked to the account, oldest link first."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(account_readers.c.reader_id)
            .where(account_readers.c.account_id == account_id)
            .order_by(account_readers.c.linked_at)
        )
        return [str(r) for r in rows.scalars()]


async def reader_ids(
    services: Services, cookie_reader_id: str, account: Account | None
) -> list[str]:
    """Every reader id of this person: the cookie's, and the account's with its links."""
    ids = [cookie_reader_id]
    if account is not None:
        ids += [meter_key(account.id), *await linked_readers(services.engine, account.id)]
    return list(dict.fromkeys(ids))


async def delete_reading_data(
    services: Services, cookie_reader_id: str, account: Account | None, now: datetime
) -> int:
    """Delete the person's meter history and events, keeping the period's count as a number.

    Raises :class:`~meterwall.metering.ports.MeterUnavailable` before anything
    is deleted from the database when the meter store cannot be reached.
    Returns the number of events that were cut loose.
    """
    ids = await reader_ids(services, cookie_reader_id, account)
    counting = meter_key(account.id) if account is not None else cookie_reader_id
    await services.access.forget(counting, keep_count_at=now)
    for reader_id in ids:
        if reader_id != counting:
            await services.access.forget(reader_id)
    anonymised = await services.events.anonymise(ids, now)
    async with services.engine.begin() as conn:
        await conn.execute(_gifts_opened_by(ids))
        if account is not None:
            await conn.execute(
                delete(account_readers).where(account_readers.c.account_id == account.id)
            )
    return anonymised


def _gifts_opened_by(ids: Sequence[str]) -> Delete:
    """The rows that say these reader ids opened someone's gift link."""
    hashes = [recipient_hash(i) for i in ids]
    return delete(gift_redemptions).where(gift_redemptions.c.reader_hash.in_(hashes))


def _still_running(subs: Sequence[tuple[str, bool]]) -> bool:
    """Whether a subscription was running and not already cancelled (so no ``cancelled`` yet)."""
    return any(status in SUBSCRIBER_STATUSES and not ending for status, ending in subs)


async def delete_account(
    services: Services, cookie_reader_id: str, account: Account, now: datetime
) -> None:
    """Erase the account and everything about it (see the module's docstring).

    Raises :class:`~meterwall.billing.ports.GatewayUnavailable` or
    :class:`~meterwall.billing.service.BillingDisabled` when the Stripe
    customer cannot be closed, and
    :class:`~meterwall.metering.ports.MeterUnavailable` when the meter store
    is down; in both cases the account is still there and a retry is safe.
    """
    before = await services.billing.close_customer(account)
    ids = await reader_ids(services, cookie_reader_id, account)
    for reader_id in ids:
        await services.access.forget(reader_id)
    closing = (
        [EventKind.CANCELLED]
        if _still_running([(s.status, s.cancel_at_period_end) for s in before])
        else []
    )
    await services.events.anonymise(ids, now, closing)
    mentions = [account.stripe_customer_id or "", *(s.id for s in before)]
    async with write_transaction(services.engine) as conn:
        await conn.execute(_gifts_opened_by(ids))
        given = select(gift_links.c.id).where(gift_links.c.account_id == account.id)
        await conn.execute(delete(gift_redemptions).where(gift_redemptions.c.gift_id.in_(given)))
        for table in (sessions, gift_links, complimentary_grants, subscriptions, account_readers):
            await conn.execute(delete(table).where(table.c.account_id == account.id))
        await conn.execute(delete(login_tokens).where(login_tokens.c.email == account.email))
        named = [webhook_events.c.payload.contains(m, autoescape=True) for m in mentions if m]
        if named:
            await conn.execute(
                update(webhook_events).where(or_(*named)).values(payload=ERASED_WEBHOOK)
            )
        await conn.execute(delete(accounts).where(accounts.c.id == account.id))
