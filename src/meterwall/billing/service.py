"""The billing service: checkout, cancel and resume, reconciliation, and entitlements.

Entitlement is read from the local copy of each subscription, which is only
ever replaced by a fresh read of the subscription from Stripe (at checkout,
on cancel or resume, on every webhook, and by ``meterwall billing sync``).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from meterwall.access.model import Entitlement
from meterwall.billing.model import (
    ENDED,
    ENTITLING,
    StoredSubscription,
    SubscriptionSnapshot,
    entitlement_of,
)
from meterwall.billing.ports import (
    GatewayUnavailable,
    PaymentError,
    PaymentGateway,
    PlanSpec,
    SetupIntent,
)
from meterwall.billing.store import BillingStore
from meterwall.identity.accounts import Account, AccountStore
from meterwall.settings import OfferSettings, Settings
from meterwall.storage.counters import Budget, Counters
from meterwall.storage.transactions import write_transaction

log = logging.getLogger(__name__)

_ZERO_DECIMAL = frozenset({"BIF", "CLP", "JPY", "KRW", "PYG", "RWF", "UGX", "VND", "XAF", "XOF"})


class BillingDisabled(Exception):
    """No payment provider is configured."""


def minor_units(amount: Decimal, currency: str) -> int:
    """``Decimal("11")`` USD is 1100 cents; zero-decimal currencies stay as they are."""
    factor = 1 if currency.upper() in _ZERO_DECIMAL else 100
    return int((amount * factor).to_integral_value())


def plan_for(offer: OfferSettings) -> PlanSpec:
    """The provider plan of an offer; a changed price or interval gives a new plan id."""
    amount = minor_units(offer.price, offer.currency)
    return PlanSpec(
        plan_id=f"meterwall-{offer.id}-{offer.currency.lower()}-{amount}-{offer.interval}",
        name=offer.name,
        amount=amount,
        currency=offer.currency,
        interval=offer.interval,
        offer_id=offer.id,
    )


def first_payment_credit(offer: OfferSettings, coupon: str | None) -> tuple[int, str] | None:
    """The credit on the first invoice for an introductory price or a coupon, if any.

    A coupon is a percentage off the first payment; when both apply the
    larger saving wins.  :class:`PaymentError` for a code the offer does not have.
    """
    price = minor_units(offer.price, offer.currency)
    credits: list[tuple[int, str]] = []
    if offer.intro_price is not None and offer.intro_price < offer.price:
        credits.append(
            (price - minor_units(offer.intro_price, offer.currency), "Introductory price")
        )
    if coupon:
        codes = {code.casefold(): (code, pct) for code, pct in offer.coupons.items()}
        found = codes.get(coupon.strip().casefold())
        if found is None:
            raise PaymentError("That coupon code is not valid for this plan.")
        code, percent = found
        credits.append((price * max(0, min(percent, 100)) // 100, f"Coupon {code}"))
    credits = [c for c in credits if c[0] > 0]
    return max(credits, default=None)


class TooManyTries(PaymentError):
    """An account tried too many coupon codes, or started too many card forms, lately."""


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What ``billing sync`` found."""

    checked: int
    changed: int
    missing: list[str]


class BillingService:
    """Subscriptions for accounts, through a :class:`PaymentGateway`."""

    def __init__(
        self,
        settings: Settings,
        store: BillingStore,
        accounts: AccountStore,
        gateway: PaymentGateway | None,
        limits: Counters | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.accounts = accounts
        self.gateway = gateway
        self._grace = timedelta(days=settings.stripe.past_due_grace_days)
        self._limits = limits
        hour = timedelta(hours=1)
        self._coupon_tries = Budget("coupon", settings.stripe.coupon_tries_per_hour, hour)
        self._card_forms = Budget("card-form", settings.stripe.card_forms_per_hour, hour)

    async def _take(self, budget: Budget, account_id: str, now: datetime, message: str) -> None:
        if self._limits is not None and not await self._limits.take([(budget, account_id)], now):
            raise TooManyTries(message)

    async def try_coupon(
        self, account_id: str, offer: OfferSettings, coupon: str | None, now: datetime
    ) -> tuple[int, str] | None:
        """:func:`first_payment_credit`, after taking one of the account's coupon tries
        (atomically, so parallel guesses get no more than the hourly number)."""
        if coupon:
            await self._take(
                self._coupon_tries,
                account_id,
                now,
                "Too many coupon codes were tried. Please wait an hour and try again.",
            )
        return first_payment_credit(offer, coupon)

    @property
    def enabled(self) -> bool:
        """Whether checkout can take payments."""
        return self.gateway is not None

    def _gateway(self) -> PaymentGateway:
        if self.gateway is None:
            raise BillingDisabled
        return self.gateway

    def offer(self, offer_id: str) -> OfferSettings | None:
        """The configured offer with this id."""
        return next((o for o in self.settings.offers if o.id == offer_id), None)

    async def ensure_plans(self) -> None:
        """Make sure every configured offer exists as a plan at the provider."""
        gateway = self._gateway()
        for offer in self.settings.offers:
            await gateway.ensure_plan(plan_for(offer))

    async def customer_for(self, account: Account) -> str:
        """The account's Stripe customer, created on first use (or if it vanished).

        The idempotency key names what the new customer replaces (nothing, or
        the vanished one) and the email it is made for, so a retry after a
        lost answer, or a second checkout started at the same moment, gets
        the customer the first attempt made instead of a duplicate.
        """
        gateway = self._gateway()
        if account.stripe_customer_id and await gateway.customer_exists(account.stripe_customer_id):
            return account.stripe_customer_id
        replacing = account.stripe_customer_id or "none"
        email = hashlib.sha256(account.email.encode()).hexdigest()[:16]
        customer = await gateway.create_customer(
            account.email,
            account.id,
            idempotency_key=f"customer-{account.id}-{replacing}-{email}",
        )
        await self.accounts.set_customer(account.id, customer)
        return customer

    async def start_checkout(
        self, account: Account, offer: OfferSettings, now: datetime
    ) -> SetupIntent:
        """Prepare the card step of a checkout: customer, plan, and a setup intent, within
        the account's hourly number of card forms (:class:`TooManyTries` past it)."""
        gateway = self._gateway()
        await self._take(
            self._card_forms,
            account.id,
            now,
            "Too many card forms were started. Please wait an hour and try again.",
        )
        customer = await self.customer_for(account)
        await gateway.ensure_plan(plan_for(offer))
        return await gateway.create_setup_intent(
            customer, idempotency_key=f"setup-{account.id}-{secrets.token_hex(12)}"
        )

    async def complete_checkout(
        self,
        account: Account,
        offer: OfferSettings,
        setup_intent_id: str,
        coupon: str | None,
        now: datetime,
    ) -> StoredSubscription:
        """Subscribe with the card the browser confirmed; :class:`PaymentError` if refused."""
        gateway = self._gateway()
        current = await self.current(account.id, now)
        if current is not None and current.status in ENTITLING:
            return current
        credit = first_payment_credit(offer, coupon)
        fresh = await self.accounts.by_id(account.id)
        customer = fresh.stripe_customer_id if fresh else None
        intent = await gateway.setup_intent(setup_intent_id)
        if customer is None or intent.customer_id != customer:
            raise PaymentError("That card form was not yours. Please start the checkout again.")
        if intent.status != "succeeded" or intent.payment_method_id is None:
            raise PaymentError("Your card was not confirmed. Please enter it again.")
        await gateway.use_payment_method(customer, intent.payment_method_id)
        if credit is not None:
            await gateway.add_credit(
                customer, credit[0], offer.currency, credit[1], key=f"credit-{setup_intent_id}"
            )
        trial_end = now + timedelta(days=offer.trial_days) if offer.trial_days else None
        snap = await gateway.create_subscription(
            customer,
            plan_for(offer).plan_id,
            {"meterwall_account": account.id, "meterwall_offer": offer.id},
            trial_end,
            idempotency_key=f"subscription-{setup_intent_id}",
        )
        if snap.status not in ENTITLING:
            if snap.status == "incomplete":
                await gateway.cancel_now(snap.id)
                snap = await gateway.subscription(snap.id) or snap
            await self._record_snapshot(snap, now)
            raise PaymentError(
                (snap.payment_error or "Your card was declined.")
                + " You have not been charged. Please try another card."
            )
        stored = await self._record_snapshot(snap, now)
        if stored is None:
            raise GatewayUnavailable(f"subscription {snap.id} has no account")
        return stored

    async def _record_snapshot(
        self, snap: SubscriptionSnapshot, now: datetime
    ) -> StoredSubscription | None:
        async with write_transaction(self.store.engine) as conn:
            return await self.store.upsert(conn, snap, now)

    async def current(self, account_id: str, now: datetime) -> StoredSubscription | None:
        """The account's subscription that matters: an entitling one, else the newest."""
        subs = await self.store.of_account(account_id)
        for sub in subs:
            if entitlement_of(sub.status, sub.past_due_since, now, self._grace) is not None:
                return sub
        return subs[0] if subs else None

    async def entitlements(self, account_id: str, now: datetime) -> frozenset[Entitlement]:
        """What the account's subscriptions and grants give it at ``now``."""
        held: set[Entitlement] = set()
        for sub in await self.store.of_account(account_id):
            found = entitlement_of(sub.status, sub.past_due_since, now, self._grace)
            if found is not None:
                held.add(found)
        if await self.store.complimentary_until(account_id, now) is not None:
            held.add(Entitlement.COMPLIMENTARY)
        return frozenset(held)

    async def set_ending(self, account_id: str, end: bool, now: datetime) -> StoredSubscription:
        """Cancel at the period end (``end``) or take that back; :class:`PaymentError` if none."""
        gateway = self._gateway()
        current = await self.current(account_id, now)
        if current is None or current.status not in ENTITLING | {"past_due"}:
            raise PaymentError("There is no active subscription to change.")
        snap = await gateway.set_cancel_at_period_end(current.id, end)
        stored = await self._record_snapshot(snap, now)
        return stored or current

    async def sync(self, now: datetime) -> SyncReport:
        """Re-read every known subscription (and each customer's list) from Stripe."""
        gateway = self._gateway()
        seen: set[str] = set()
        changed = 0
        missing: list[str] = []
        before = {
            s.id: s for a in await self.accounts.all() for s in await self.store.of_account(a.id)
        }
        for account in await self.accounts.all():
            if not account.stripe_customer_id:
                continue
            for snap in await gateway.subscriptions_of(account.stripe_customer_id):
                seen.add(snap.id)
                stored = await self._record_snapshot(snap, now)
                old = before.get(snap.id)
                if stored is not None and (
                    old is None
                    or (old.status, old.cancel_at_period_end)
                    != (stored.status, stored.cancel_at_period_end)
                ):
                    changed += 1
        for sub_id in await self.store.all_ids():
            if sub_id in seen:
                continue
            snap_or_none = await gateway.subscription(sub_id)
            if snap_or_none is None:
                missing.append(sub_id)
                continue
            seen.add(sub_id)
            stored = await self._record_snapshot(snap_or_none, now)
            old = before.get(sub_id)
            if stored is not None and old is not None and old.status != stored.status:
                changed += 1
        return SyncReport(checked=len(seen), changed=changed, missing=missing)

    async def close_customer(self, account: Account) -> list[StoredSubscription]:
        """Before an account is erased: end every live subscription of its Stripe customer at
        once, then delete the customer.  Safe to repeat.  Returns the account's subscriptions
        as they were stored before (the caller keeps anonymous counts of them).

        Raises :class:`GatewayUnavailable` (or :class:`BillingDisabled` with a customer but
        no Stripe configured): then nothing was deleted at Stripe's end that matters, and the
        account must stay until a retry succeeds, or the reader would be charged with no
        account to cancel from.
        """
        before = await self.store.of_account(account.id)
        customer = account.stripe_customer_id
        if not customer:
            return before
        gateway = self._gateway()
        if not await gateway.customer_exists(customer):
            return before
        for snap in await gateway.subscriptions_of(customer):
            if snap.status not in ENDED:
                await gateway.cancel_now(snap.id)
        await gateway.delete_customer(customer)
        return before

    async def grant(
        self, account: Account, days: int | None, note: str, now: datetime
    ) -> datetime | None:
        """Complimentary access for ``days`` (``None``: until revoked); returns its end."""
        expires = now.astimezone(UTC) + timedelta(days=days) if days else None
        await self.store.grant(account.id, expires, note, now)
        return expires

    async def revoke_grants(self, account: Account, now: datetime) -> int:
        """End the account's live complimentary grants now; how many there were."""
        return await self.store.revoke(now, account_id=account.id)
