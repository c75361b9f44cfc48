"""Checkout, cancel and resume, the Stripe webhook endpoint, and gift links.

The checkout page is the only page that loads a third-party script (the
payment provider's Stripe.js, which keeps card numbers off this server); its
Content-Security-Policy allows exactly that origin and the API origin the
script talks to.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from meterwall.billing.model import ENTITLING
from meterwall.billing.ports import GatewayUnavailable, PaymentError
from meterwall.billing.service import TooManyTries
from meterwall.identity.accounts import meter_key
from meterwall.identity.gifts import GIFTING, AllowanceUsed
from meterwall.settings import OfferSettings
from meterwall.web.account import (
    current_member,
    form_fields,
    login_redirect,
    posted_form,
    redirect,
    render,
    services_of,
)
from meterwall.web.middleware import content_security_policy
from meterwall.web.reader import Visitor
from meterwall.web.views import offer_view

UNAVAILABLE = (
    "Payments are unavailable at the moment. Nothing was charged. "
    "Please try again in a few minutes."
)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def checkout_csp(request: Request) -> str:
    """The checkout page's policy: the site's, plus the Stripe.js and Stripe API origins."""
    stripe = services_of(request).settings.stripe
    js = _origin(stripe.js_url)
    api = _origin(stripe.api_base)
    frames: tuple[str, ...] = (js,)
    if js == "https://js.stripe.com":
        frames += ("https://hooks.stripe.com",)
    return content_security_policy(
        script=(js,), connect=tuple(dict.fromkeys((api, js))), frame=frames
    )


async def _offer(request: Request) -> OfferSettings:
    """The plan in the URL as this reader is offered it (the live policy, with any price
    experiment), so what the checkout charges is what the gate and /subscribe showed."""
    services = services_of(request)
    visitor = services.identity.visitor(request)
    member = await current_member(request, visitor, services.clock())
    reader_id = meter_key(member.account.id) if member is not None else visitor.reader_id
    live = await services.policies.for_reader(reader_id)
    offer = next((o for o in live.offers if o.id == request.path_params["offer"]), None)
    if offer is None:
        raise HTTPException(404, "There is no such plan.")
    return offer


async def _checkout_page(
    request: Request,
    visitor: Visitor,
    offer: OfferSettings,
    error: str = "",
    status_code: int = 200,
    coupon: str = "",
) -> Response:
    """The checkout page.  It starts no card form at the payment provider: the card step's
    setup intent is made only when the reader submits (:func:`checkout_intent`)."""
    services = services_of(request)
    now = services.clock()
    member = await current_member(request, visitor, now)
    assert member is not None
    context: dict[str, Any] = {
        "offer": offer_view(offer),
        "offer_id": offer.id,
        "error": error,
        "coupon": coupon,
        "has_coupons": bool(offer.coupons),
        "email": member.account.email,
        "csrf": services.csrf.token(visitor.reader_id, "checkout"),
        "publishable_key": services.settings.stripe.publishable_key,
        "js_url": services.settings.stripe.js_url,
    }
    response = render(request, "checkout.html", context, visitor, status_code)
    response.headers["Content-Security-Policy"] = checkout_csp(request)
    return response


async def checkout_form(request: Request) -> Response:
    """The card form for one offer (sign-in first; subscribers go to their account)."""
    services = services_of(request)
    offer = await _offer(request)
    visitor = services.identity.visitor(request)
    if not services.billing.enabled:
        return render(request, "payments_off.html", {}, visitor, 503)
    now = services.clock()
    member = await current_member(request, visitor, now)
    if member is None:
        return login_redirect(f"/checkout/{offer.id}")
    current = await services.billing.current(member.account.id, now)
    if current is not None and current.status in ENTITLING:
        return redirect("/account?notice=already-subscribed")
    services.events.record("checkout_started", reader_id=meter_key(member.account.id), at=now)
    return await _checkout_page(request, visitor, offer)


def _json(status: int, **body: str) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "private, no-store"})


async def checkout_intent(request: Request) -> Response:
    """The card step, when the reader submits the checkout form: check the coupon (one of
    the account's coupon tries), then make the setup intent Stripe.js confirms the card
    with.  JSON: ``{"client_secret": ...}``, or ``{"error": ...}`` for the form to show."""
    services = services_of(request)
    offer = await _offer(request)
    visitor = services.identity.visitor(request)
    if not services.billing.enabled:
        return _json(503, error=UNAVAILABLE)
    fields = await form_fields(request, visitor, "checkout")
    now = services.clock()
    member = await current_member(request, visitor, now)
    if member is None:
        return _json(403, error="Please sign in again.")
    coupon = fields.get("coupon", "").strip()[:50]
    try:
        await services.billing.try_coupon(member.account.id, offer, coupon or None, now)
        intent = await services.billing.start_checkout(member.account, offer, now)
    except TooManyTries as exc:
        return _json(429, error=str(exc))
    except PaymentError as exc:
        return _json(400, error=str(exc))
    except GatewayUnavailable:
        return _json(503, error=UNAVAILABLE)
    return _json(200, client_secret=intent.client_secret)


async def checkout(request: Request) -> Response:
    """Subscribe with the card Stripe.js confirmed; a refusal is shown on the checkout page.

    The card comes first: without a confirmed card nothing, not even whether a
    coupon code exists, is looked at."""
    services = services_of(request)
    offer = await _offer(request)
    visitor = services.identity.visitor(request)
    if not services.billing.enabled:
        return render(request, "payments_off.html", {}, visitor, 503)
    fields = await form_fields(request, visitor, "checkout")
    now = services.clock()
    member = await current_member(request, visitor, now)
    if member is None:
        return login_redirect(f"/checkout/{offer.id}")
    coupon = fields.get("coupon", "").strip()[:50]
    setup_intent = fields.get("setup_intent", "").strip()
    before = await services.billing.current(member.account.id, now)
    try:
        if not setup_intent:
            raise PaymentError("Please enter your card details.")
        await services.billing.try_coupon(member.account.id, offer, coupon or None, now)
        await services.billing.complete_checkout(
            member.account, offer, setup_intent[:100], coupon or None, now
        )
    except TooManyTries as exc:
        return await _checkout_page(request, visitor, offer, str(exc), 429, coupon)
    except PaymentError as exc:
        return await _checkout_page(request, visitor, offer, str(exc), 402, coupon)
    except GatewayUnavailable:
        return await _checkout_page(request, visitor, offer, UNAVAILABLE, 503, coupon)
    if before is None or before.status not in ENTITLING:
        services.events.record("subscribed", reader_id=meter_key(member.account.id), at=now)
    return redirect("/account?notice=subscribed")


async def cancel_form(request: Request) -> Response:
    """The one "are you sure?" page before cancelling."""
    services = services_of(request)
    visitor = services.identity.visitor(request)
    now = services.clock()
    member = await current_member(request, visitor, now)
    if member is None:
        return login_redirect("/account/cancel")
    subscription = await services.billing.current(member.account.id, now)
    if subscription is None or subscription.status not in ENTITLING | {"past_due"}:
        return redirect("/account")
    return render(
        request,
        "cancel.html",
        {
            "subscription": subscription,
            "csrf": services.csrf.token(visitor.reader_id, "account"),
        },
    )


async def _set_ending(request: Request, end: bool) -> Response:
    posted = await posted_form(request, "account", "/account")
    if isinstance(posted, Response):
        return posted
    services = services_of(request)
    now = services.clock()
    member = posted.member
    if not services.billing.enabled:
        return render(request, "payments_off.html", {}, posted.visitor, 503)
    try:
        await services.billing.set_ending(member.account.id, end, now)
    except PaymentError:
        return redirect("/subscribe" if not end else "/account")
    except GatewayUnavailable:
        return redirect("/account?notice=unavailable")
    # Taking a cancellation back counts as subscribing again, so the flows stay balanced.
    services.events.record(
        "cancelled" if end else "subscribed", reader_id=meter_key(member.account.id), at=now
    )
    return redirect("/account?notice=" + ("cancelled" if end else "resumed"))


async def cancel(request: Request) -> Response:
    """Cancel at the end of the paid period, in one step."""
    return await _set_ending(request, True)


async def resume(request: Request) -> Response:
    """Take a cancellation back before the period ends."""
    return await _set_ending(request, False)


async def stripe_webhook(request: Request) -> Response:
    """Stripe's webhook deliveries: 400 for anything not signed, fresh and well formed."""
    services = services_of(request)
    payload = await request.body()
    outcome = await services.webhooks.receive(
        payload, request.headers.get("stripe-signature"), services.clock()
    )
    return PlainTextResponse(outcome.message, status_code=outcome.status)


async def gift_form(request: Request) -> Response:
    """Offer to create a gift link for an article (subscribers only)."""
    services = services_of(request)
    visitor = services.identity.visitor(request)
    now = services.clock()
    slug = request.query_params.get("article", "")
    member = await current_member(request, visitor, now)
    if member is None:
        return login_redirect(f"/gifts/new?article={slug}")
    found = await services.articles.by_slug(slug) if slug else None
    if found is None:
        raise HTTPException(404, "There is no article at this address.")
    entitlements = await services.billing.entitlements(member.account.id, now)
    return render(
        request,
        "gift.html",
        {
            "article": found,
            "link": "",
            "may_gift": bool(entitlements & GIFTING),
            "used": await services.members.gifts.used_this_month(member.account.id, now),
            "allowance": services.members.gifts.allowance,
            "csrf": services.csrf.token(visitor.reader_id, "gift"),
            "error": "",
        },
        visitor,
    )


async def create_gift(request: Request) -> Response:
    """Create a gift link to one article, within the monthly allowance."""
    posted = await posted_form(request, "gift", "/account")
    if isinstance(posted, Response):
        return posted
    services = services_of(request)
    now = services.clock()
    visitor, member = posted.visitor, posted.member
    found = await services.articles.by_slug(posted.fields.get("article", ""))
    if found is None:
        raise HTTPException(404, "There is no article at this address.")
    entitlements = await services.billing.entitlements(member.account.id, now)
    context: dict[str, Any] = {
        "article": found,
        "link": "",
        "may_gift": bool(entitlements & GIFTING),
        "allowance": services.members.gifts.allowance,
        "csrf": services.csrf.token(visitor.reader_id, "gift"),
        "error": "",
    }
    status = 200
    if not entitlements & GIFTING:
        context["error"] = "Gift links are for subscribers."
        status = 403
    else:
        try:
            gift = await services.members.gifts.create(member.account.id, found.id, now)
        except AllowanceUsed:
            context["error"] = "You have used all your gift links for this month."
            status = 429
        else:
            context["link"] = (
                f"{services.settings.public_url}/articles/{found.slug}?gift={gift.token}"
            )
            context["expires_at"] = gift.expires_at
    context["used"] = await services.members.gifts.used_this_month(member.account.id, now)
    return render(request, "gift.html", context, visitor, status)
