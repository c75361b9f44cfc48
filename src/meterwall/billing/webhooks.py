"""Stripe webhooks: verified on the raw body, stored raw first, processed once per event id.

Verification follows Stripe's scheme: the ``Stripe-Signature`` header carries
``t=<unix time>`` and one or more ``v1=<hex>`` values; a ``v1`` must equal
HMAC-SHA256(secret, ``"<t>." + raw body``) for one of the configured secrets,
and ``t`` must be within five minutes of now.  Anything else is a 400 and
changes nothing.

A verified event is stored as received before anything else.  Events are
then processed one at a time across every process (:mod:`meterwall.billing.serial`),
and an event already processed is skipped, so a duplicate or concurrent
delivery does nothing the second time.  Each event type has its own handler,
which names the subscription concerned; the subscription is then re-read
from Stripe and stored as it is *now*, so deliveries that arrive twice,
together or out of order all end in the state Stripe holds.  The Stripe
read happens outside any database transaction (it may take seconds); only
storing the result takes the write lock, briefly.  A failure is kept on the
event's row (and answered 503 so Stripe retries); types without a handler
are stored and answered 200.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.billing.model import SubscriptionSnapshot
from meterwall.billing.ports import GatewayUnavailable, PaymentGateway
from meterwall.billing.serial import webhook_lock
from meterwall.billing.store import BillingStore
from meterwall.storage.engine import IMMEDIATE
from meterwall.storage.schema import webhook_events
from meterwall.storage.transactions import write_transaction

log = logging.getLogger(__name__)

TOLERANCE_SECONDS = 300
MAX_PAYLOAD_BYTES = 512 * 1024


class SignatureError(Exception):
    """The request is not a genuine, fresh webhook from Stripe."""


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header Stripe would send for ``payload`` (for tests and tools)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    payload: bytes,
    header: str | None,
    secrets: Sequence[str],
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Raise :class:`SignatureError` unless ``header`` signs ``payload`` freshly."""
    if not header or not secrets:
        raise SignatureError("missing Stripe-Signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("bad timestamp in Stripe-Signature") from None
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError("Stripe-Signature needs t= and v1=")
    if abs(now - timestamp) > tolerance:
        raise SignatureError("signature timestamp outside the tolerance")
    signed = f"{timestamp}.".encode() + payload
    for secret in secrets:
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, s) for s in signatures):
            return
    raise SignatureError("no matching v1 signature")


def _subscription_id(obj: Mapping[str, Any]) -> str | None:
    found = obj.get("id")
    return found if isinstance(found, str) else None


def _invoice_subscription_id(obj: Mapping[str, Any]) -> str | None:
    found = obj.get("subscription")
    if isinstance(found, dict):
        found = found.get("id")
    if isinstance(found, str):
        return found
    parent = obj.get("parent") or {}
    details = parent.get("subscription_details") or {} if isinstance(parent, dict) else {}
    found = details.get("subscription") if isinstance(details, dict) else None
    return found if isinstance(found, str) else None


Handler = Callable[[Mapping[str, Any]], str | None]

HANDLERS: Mapping[str, Handler] = {
    "customer.subscription.created": _subscription_id,
    "customer.subscription.updated": _subscription_id,
    "customer.subscription.deleted": _subscription_id,
    "customer.subscription.paused": _subscription_id,
    "customer.subscription.resumed": _subscription_id,
    "customer.subscription.trial_will_end": _subscription_id,
    "invoice.paid": _invoice_subscription_id,
    "invoice.payment_succeeded": _invoice_subscription_id,
    "invoice.payment_failed": _invoice_subscription_id,
}
"""One handler per event type: each names the subscription the event is about."""


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    """The answer to one delivery."""

    status: int
    message: str


class WebhookRetention:
    """Deletes stored webhook deliveries once they are older than the retention period.

    An event id only needs remembering while Stripe may still deliver it
    again; a replay of an old delivery fails the signature's five-minute
    tolerance anyway, so forgetting it after ``retention`` lets nothing
    through twice.
    """

    def __init__(self, engine: AsyncEngine, retention: timedelta) -> None:
        self._engine = engine
        self._retention = retention

    async def purge_expired(self, now: datetime) -> int:
        """Delete deliveries received more than the retention period before ``now``."""
        cutoff = now.astimezone(UTC) - self._retention
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                delete(webhook_events).where(webhook_events.c.received_at < cutoff)
            )
        return int(result.rowcount or 0)


class Webhooks:
    """Receives Stripe webhook deliveries."""

    def __init__(
        self,
        engine: AsyncEngine,
        store: BillingStore,
        gateway: PaymentGateway | None,
        secrets: Sequence[str],
    ) -> None:
        self._engine = engine
        self._store = store
        self._gateway = gateway
        self._secrets = list(secrets)
        self._one_at_a_time = webhook_lock(engine)

    async def receive(self, payload: bytes, header: str | None, now: datetime) -> WebhookOutcome:
        """Verify, store and process one delivery."""
        if not self._secrets:
            return WebhookOutcome(400, "webhooks are not configured on this site")
        if len(payload) > MAX_PAYLOAD_BYTES:
            return WebhookOutcome(400, "payload too large")
        try:
            verify_signature(payload, header, self._secrets, now.timestamp())
        except SignatureError as exc:
            return WebhookOutcome(400, f"invalid signature: {exc}")
        try:
            event = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            return WebhookOutcome(400, "payload is not JSON")
        if not isinstance(event, dict):
            return WebhookOutcome(400, "payload is not an event")
        event_id, event_type = event.get("id"), event.get("type")
        if not isinstance(event_id, str) or not isinstance(event_type, str) or not event_id:
            return WebhookOutcome(400, "event needs an id and a type")
        await self._store_raw(event_id[:100], event_type[:100], payload, now)
        return await self.process(event_id[:100], now)

    async def _store_raw(
        self, event_id: str, event_type: str, payload: bytes, now: datetime
    ) -> None:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    webhook_events.insert().values(
                        id=event_id,
                        type=event_type,
                        payload=payload.decode("utf-8", errors="replace"),
                        received_at=now.astimezone(UTC),
                        attempts=0,
                    )
                )
        except IntegrityError:
            log.info("webhook %s delivered again", event_id)

    async def process(self, event_id: str, now: datetime) -> WebhookOutcome:
        """Process a stored event unless it was already; failures stay on its row."""
        try:
            return await self._process(event_id, now)
        except Exception as exc:  # whatever failed is kept on the row, for a retry
            log.warning("webhook %s failed: %s", event_id, exc)
            async with self._engine.begin() as conn:
                await conn.execute(
                    update(webhook_events)
                    .where(webhook_events.c.id == event_id)
                    .values(
                        attempts=webhook_events.c.attempts + 1,
                        error=f"{type(exc).__name__}: {exc}"[:2000],
                    )
                )
            return WebhookOutcome(503, "processing failed; it will be retried")

    async def _process(self, event_id: str, now: datetime) -> WebhookOutcome:
        async with self._one_at_a_time():
            async with self._engine.connect() as conn:
                row = (
                    await conn.execute(
                        select(webhook_events).where(webhook_events.c.id == event_id)
                    )
                ).first()
            if row is None:
                return WebhookOutcome(400, "unknown event")
            if row.processed_at is not None:
                return WebhookOutcome(200, "already processed")
            handler = HANDLERS.get(row.type)
            found = None if handler is None else await self._fetch(handler, row.payload)
            async with self._engine.connect() as raw:
                conn = await raw.execution_options(**{IMMEDIATE: True})
                async with conn.begin():
                    note = found if isinstance(found, str) else None
                    if (
                        isinstance(found, SubscriptionSnapshot)
                        and await self._store.upsert(conn, found, now) is None
                    ):
                        note = f"subscription {found.id} belongs to no account here"
                    await conn.execute(
                        update(webhook_events)
                        .where(webhook_events.c.id == event_id)
                        .values(
                            processed_at=now.astimezone(UTC),
                            attempts=webhook_events.c.attempts + 1,
                            error=note,
                        )
                    )
        if handler is None:
            return WebhookOutcome(200, f"ignored event type {row.type}")
        return WebhookOutcome(200, note or "processed")

    async def _fetch(self, handler: Handler, payload: str) -> SubscriptionSnapshot | str:
        """The subscription the event names, as Stripe has it now; a note if there is none."""
        event = json.loads(payload)
        data = event.get("data") if isinstance(event, dict) else None
        obj = data.get("object") if isinstance(data, dict) else None
        if not isinstance(obj, dict):
            return "event has no data.object"
        subscription_id = handler(obj)
        if subscription_id is None:
            return "event names no subscription"
        if self._gateway is None:
            raise GatewayUnavailable("billing is not configured")
        snap = await self._gateway.subscription(subscription_id)
        if snap is None:
            return f"subscription {subscription_id} is unknown to Stripe"
        return snap
