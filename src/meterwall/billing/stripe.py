"""The Stripe adapter: the only module that imports the ``stripe`` SDK.

It speaks the Plans-era API (Customers, PaymentMethods, SetupIntents, Plans,
Subscriptions, Invoice items) that both real Stripe and the ``localstripe``
emulator implement, pinned to ``stripe.api_version`` from settings so the
shape of every object is the one this module reads.  Each create call
carries an ``Idempotency-Key``.  Errors become :class:`PaymentError` (the
reader can act on it, e.g. a declined card) or :class:`GatewayUnavailable`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import stripe

from meterwall.billing.model import SubscriptionSnapshot
from meterwall.billing.ports import GatewayUnavailable, PaymentError, PlanSpec, SetupIntent
from meterwall.settings import StripeSettings

_PROVIDER_FAULTS = (
    stripe.APIConnectionError,
    stripe.APIError,
    stripe.AuthenticationError,
    stripe.PermissionError,
    stripe.RateLimitError,
)


def _when(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if isinstance(value, int | float) else None


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _id(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        found = value.get("id")
        return found if isinstance(found, str) else None
    return None


def snapshot(data: dict[str, Any]) -> SubscriptionSnapshot:
    """A subscription object (as a plain dict) read into the domain's snapshot.

    ``current_period_end`` is read from the subscription, or from its first
    item where newer API versions keep it.  A subscription reported as
    ``incomplete`` with a trial end and no invoice is a trial: real Stripe
    says ``trialing`` there, the emulator does not.
    """
    items = ((data.get("items") or {}).get("data")) or [{}]
    period_end = data.get("current_period_end") or items[0].get("current_period_end")
    metadata = data.get("metadata") or {}
    status = str(data.get("status", ""))
    if status == "incomplete" and data.get("trial_end") and not data.get("latest_invoice"):
        status = "trialing"
    error = None
    invoice = data.get("latest_invoice")
    if isinstance(invoice, dict):
        intent = invoice.get("payment_intent")
        if isinstance(intent, dict):
            last = intent.get("last_payment_error") or {}
            error = last.get("message") if isinstance(last, dict) else None
    return SubscriptionSnapshot(
        id=str(data["id"]),
        customer_id=_id(data.get("customer")) or "",
        status=status,
        cancel_at_period_end=bool(data.get("cancel_at_period_end")),
        current_period_end=_when(period_end),
        trial_end=_when(data.get("trial_end")),
        account_id=metadata.get("meterwall_account"),
        offer_id=str(metadata.get("meterwall_offer", "")),
        payment_error=error,
    )


def _setup_intent(data: dict[str, Any]) -> SetupIntent:
    return SetupIntent(
        id=str(data["id"]),
        client_secret=str(data.get("client_secret") or ""),
        customer_id=_id(data.get("customer")),
        status=str(data.get("status", "")),
        payment_method_id=_id(data.get("payment_method")),
    )


class StripeGateway:
    """A :class:`~meterwall.billing.ports.PaymentGateway` on the official SDK."""

    def __init__(self, settings: StripeSettings) -> None:
        key = settings.secret_key.get_secret_value() if settings.secret_key else ""
        self._client = stripe.StripeClient(
            key,
            stripe_version=settings.api_version,
            base_addresses={"api": settings.api_base.rstrip("/")},
            http_client=stripe.HTTPXClient(timeout=settings.timeout_seconds),
            max_network_retries=2,
        )

    async def _call(self, coroutine: Any) -> dict[str, Any]:
        try:
            return _plain(await coroutine)
        except stripe.CardError as exc:
            raise PaymentError(exc.user_message or "Your card was declined.") from exc
        except _PROVIDER_FAULTS as exc:
            raise GatewayUnavailable(str(exc)) from exc
        except stripe.StripeError as exc:
            if exc.http_status == 402:
                raise PaymentError(exc.user_message or "Your card was declined.") from exc
            raise PaymentError(exc.user_message or "The payment could not be processed.") from exc

    async def _found(self, coroutine: Any) -> dict[str, Any] | None:
        try:
            return await self._call(coroutine)
        except PaymentError as exc:
            cause = exc.__cause__
            if isinstance(cause, stripe.InvalidRequestError) and cause.http_status == 404:
                return None
            raise

    async def ensure_plan(self, plan: PlanSpec) -> None:
        """Create the plan unless it exists (plans are immutable: a new price is a new id)."""
        existing = await self._found(self._client.v1.plans.retrieve_async(plan.plan_id))
        if existing is not None:
            return
        await self._call(
            self._client.v1.plans.create_async(
                params={
                    "id": plan.plan_id,
                    "amount": plan.amount,
                    "currency": plan.currency.lower(),
                    "interval": plan.interval,
                    "product": {"name": plan.name},
                    "metadata": {"meterwall_offer": plan.offer_id},
                },
                options={"idempotency_key": f"plan-{plan.plan_id}"},
            )
        )

    async def create_customer(self, email: str, account_id: str, idempotency_key: str) -> str:
        """A new customer for the account."""
        data = await self._call(
            self._client.v1.customers.create_async(
                params={"email": email, "metadata": {"meterwall_account": account_id}},
                options={"idempotency_key": idempotency_key},
            )
        )
        return str(data["id"])

    async def customer_exists(self, customer_id: str) -> bool:
        """Whether the customer exists and is not deleted."""
        data = await self._found(self._client.v1.customers.retrieve_async(customer_id))
        return data is not None and not data.get("deleted")

    async def create_setup_intent(self, customer_id: str, idempotency_key: str) -> SetupIntent:
        """A setup intent for collecting a card to charge off-session."""
        data = await self._call(
            self._client.v1.setup_intents.create_async(
                params={"customer": customer_id, "usage": "off_session"},
                options={"idempotency_key": idempotency_key},
            )
        )
        return _setup_intent(data)

    async def setup_intent(self, setup_intent_id: str) -> SetupIntent:
        """The setup intent's current state."""
        data = await self._found(self._client.v1.setup_intents.retrieve_async(setup_intent_id))
        if data is None:
            raise PaymentError("That card form has expired. Please enter your card again.")
        return _setup_intent(data)

    async def use_payment_method(self, customer_id: str, payment_method_id: str) -> None:
        """Attach the card to the customer unless it already is, and make it the default."""
        method = await self._call(self._client.v1.payment_methods.retrieve_async(payment_method_id))
        if _id(method.get("customer")) != customer_id:
            await self._call(
                self._client.v1.payment_methods.attach_async(
                    payment_method_id, params={"customer": customer_id}
                )
            )
        await self._call(
            self._client.v1.customers.update_async(
                customer_id,
                params={"invoice_settings": {"default_payment_method": payment_method_id}},
            )
        )

    async def add_credit(
        self, customer_id: str, amount: int, currency: str, description: str, key: str
    ) -> None:
        """A negative pending invoice item: the customer's next invoice is reduced by it."""
        await self._call(
            self._client.v1.invoice_items.create_async(
                params={
                    "customer": customer_id,
                    "amount": -amount,
                    "currency": currency.lower(),
                    "description": description,
                },
                options={"idempotency_key": key},
            )
        )

    async def create_subscription(
        self,
        customer_id: str,
        plan_id: str,
        metadata: dict[str, str],
        trial_end: datetime | None,
        idempotency_key: str,
    ) -> SubscriptionSnapshot:
        """Subscribe the customer to the plan, paying with the default card."""
        params: dict[str, Any] = {
            "customer": customer_id,
            "items": [{"plan": plan_id}],
            "metadata": metadata,
            "expand": ["latest_invoice.payment_intent"],
        }
        if trial_end is not None:
            params["trial_end"] = int(trial_end.timestamp())
        data = await self._call(
            self._client.v1.subscriptions.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        )
        return snapshot(data)

    async def subscription(self, subscription_id: str) -> SubscriptionSnapshot | None:
        """The subscription as Stripe has it now."""
        data = await self._found(self._client.v1.subscriptions.retrieve_async(subscription_id))
        return snapshot(data) if data is not None else None

    async def subscriptions_of(self, customer_id: str) -> list[SubscriptionSnapshot]:
        """All the customer's subscriptions, canceled ones included."""
        data = await self._call(
            self._client.v1.subscriptions.list_async(
                params={"customer": customer_id, "status": "all", "limit": 100}
            )
        )
        return [snapshot(item) for item in data.get("data", [])]

    async def set_cancel_at_period_end(
        self, subscription_id: str, cancel: bool
    ) -> SubscriptionSnapshot:
        """Switch ending at the period end on or off."""
        data = await self._call(
            self._client.v1.subscriptions.update_async(
                subscription_id, params={"cancel_at_period_end": cancel}
            )
        )
        return snapshot(data)

    async def cancel_now(self, subscription_id: str) -> None:
        """End the subscription at once."""
        await self._call(self._client.v1.subscriptions.cancel_async(subscription_id))

    async def delete_customer(self, customer_id: str) -> None:
        """Delete the customer; one Stripe no longer knows is already gone."""
        await self._found(self._client.v1.customers.delete_async(customer_id))
