"""The payment gateway port: everything meterwall asks of a payment provider.

The only adapter is :mod:`meterwall.billing.stripe` (real Stripe, or the
``localstripe`` emulator at another API base).  Every call that creates
something takes an idempotency key, so a retried request never charges or
subscribes twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from meterwall.billing.model import SubscriptionSnapshot


class PaymentError(Exception):
    """The provider refused something; ``str(exc)`` is a message fit for the reader."""


class GatewayUnavailable(Exception):
    """The provider could not be reached or answered with an error of its own."""


@dataclass(frozen=True, slots=True)
class PlanSpec:
    """A recurring price, as the provider should know it."""

    plan_id: str
    name: str
    amount: int
    currency: str
    interval: str
    offer_id: str


@dataclass(frozen=True, slots=True)
class SetupIntent:
    """A card collection in progress, confirmed by the browser with ``client_secret``."""

    id: str
    client_secret: str
    customer_id: str | None
    status: str
    payment_method_id: str | None


class PaymentGateway(Protocol):
    """A payment provider."""

    async def ensure_plan(self, plan: PlanSpec) -> None:
        """Create the plan unless it exists."""
        ...

    async def create_customer(self, email: str, account_id: str, idempotency_key: str) -> str:
        """A new customer; returns its id."""
        ...

    async def customer_exists(self, customer_id: str) -> bool:
        """Whether the customer exists (and is not deleted)."""
        ...

    async def create_setup_intent(self, customer_id: str, idempotency_key: str) -> SetupIntent:
        """Start collecting a card for off-session payments."""
        ...

    async def setup_intent(self, setup_intent_id: str) -> SetupIntent:
        """Read a setup intent back."""
        ...

    async def use_payment_method(self, customer_id: str, payment_method_id: str) -> None:
        """Attach the card to the customer (if needed) and make it the default."""
        ...

    async def add_credit(
        self, customer_id: str, amount: int, currency: str, description: str, key: str
    ) -> None:
        """Credit ``amount`` (minor units) to the customer's next invoice."""
        ...

    async def create_subscription(
        self,
        customer_id: str,
        plan_id: str,
        metadata: dict[str, str],
        trial_end: datetime | None,
        idempotency_key: str,
    ) -> SubscriptionSnapshot:
        """Subscribe the customer, charging the default card now unless on trial."""
        ...

    async def subscription(self, subscription_id: str) -> SubscriptionSnapshot | None:
        """The subscription's current state, ``None`` if the provider does not know it."""
        ...

    async def subscriptions_of(self, customer_id: str) -> list[SubscriptionSnapshot]:
        """Every subscription of the customer, whatever its status."""
        ...

    async def set_cancel_at_period_end(
        self, subscription_id: str, cancel: bool
    ) -> SubscriptionSnapshot:
        """Ask for the subscription to end (or no longer end) at the period end."""
        ...

    async def cancel_now(self, subscription_id: str) -> None:
        """End a subscription at once (used for a checkout whose first payment failed)."""
        ...

    async def delete_customer(self, customer_id: str) -> None:
        """Delete the customer (already deleted or unknown is not an error).

        The provider keeps the customer's invoices and payments for its own
        legal duties; meterwall keeps nothing of them.
        """
        ...
