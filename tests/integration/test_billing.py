"""Subscribing, trials, coupons, failed payments, cancelling and resubscribing, on localstripe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from meterwall.billing.emulator import LocalStripe
from tests.accounts_support import (
    DECLINED_AT_CHARGE,
    SECRET,
    card_step,
    csrf_of,
    localstripe_fixture,  # noqa: F401 - the emulator fixture
    new_client,
    sign_in,
    stripe_settings,
    subscribe,
)

pytestmark = pytest.mark.usefixtures("localstripe")


async def _app(
    app_factory: Callable[..., Any], emulator: LocalStripe, **overrides: Any
) -> Starlette:
    return await app_factory(mail={"backend": "dev"}, stripe=stripe_settings(emulator), **overrides)


def _invoices(emulator: LocalStripe, customer: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{emulator.api_base}/v1/invoices",
        params={"customer": customer},
        auth=(SECRET, ""),
        timeout=10,
    )
    return list(response.json()["data"])


async def _customer(app: Starlette, email: str) -> str:
    account = await app.state.services.members.accounts.by_email(email)
    assert account.stripe_customer_id
    return str(account.stripe_customer_id)


async def test_subscribing_unlocks_everything_at_once_in_every_browser(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe, policy={"anonymous_limit": 0, "registered_limit": 0})
    async with new_client(app) as browser, new_client(app) as laptop:
        gated = await browser.get("/articles/story-1")
        assert "SECRET-1-2" not in gated.text
        await sign_in(browser, app, "payer@example.com")
        done = await subscribe(browser, localstripe)
        assert done.status_code == 303 and done.headers["location"] == "/account?notice=subscribed"
        page = await browser.get("/articles/story-1")
        assert "SECRET-1-2" in page.text
        assert "meter-banner" not in page.text
        assert "SECRET-10-2" in (await browser.get("/articles/story-10")).text
        account = await browser.get("/account")
        assert "Unlimited digital access" in account.text and "active" in account.text
        await sign_in(laptop, app, "payer@example.com")
        assert "SECRET-2-2" in (await laptop.get("/articles/story-2")).text
    invoices = _invoices(localstripe, await _customer(app, "payer@example.com"))
    assert [i["total"] for i in invoices] == [1100]


async def test_checkout_page_allows_only_the_stripe_js_origin(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe)
    async with new_client(app) as browser:
        await sign_in(browser, app, "csp@example.com")
        page = await browser.get("/checkout/digital-monthly")
        policy = page.headers["content-security-policy"]
        assert f"script-src 'self' {localstripe.api_base}" in policy
        assert localstripe.js_url in page.text
        other = await browser.get("/subscribe")
        assert "127.0.0.1" not in other.headers["content-security-policy"]
        assert "/checkout/digital-monthly" in other.text


async def test_checkout_asks_anonymous_readers_to_sign_in_first(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe)
    async with new_client(app) as browser:
        page = await browser.get("/checkout/digital-monthly")
        assert page.status_code == 303
        assert page.headers["location"] == "/account/login?next=/checkout/digital-monthly"
        assert (await browser.get("/checkout/no-such-plan")).status_code == 404


async def test_a_free_trial_entitles_without_a_charge(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(
        app_factory,
        localstripe,
        offers=[{"id": "trial", "trial_days": 14}],
        policy={"registered_limit": 0},
    )
    async with new_client(app) as browser:
        await sign_in(browser, app, "trial@example.com")
        done = await subscribe(browser, localstripe, offer="trial")
        assert done.status_code == 303
        assert "SECRET-3-2" in (await browser.get("/articles/story-3")).text
        assert "free trial" in (await browser.get("/account")).text
    assert _invoices(localstripe, await _customer(app, "trial@example.com")) == []


async def test_a_coupon_reduces_the_first_payment(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(
        app_factory, localstripe, offers=[{"id": "digital-monthly", "coupons": {"HALF": 50}}]
    )
    async with new_client(app) as browser:
        await sign_in(browser, app, "coupon@example.com")
        wrong = await subscribe(browser, localstripe, coupon="NOPE")
        assert wrong.status_code == 400 and "coupon code is not valid" in wrong.json()["error"]
        done = await subscribe(browser, localstripe, coupon="half")
        assert done.status_code == 303
    invoices = _invoices(localstripe, await _customer(app, "coupon@example.com"))
    assert [i["total"] for i in invoices] == [550]


async def test_an_introductory_price_is_charged_first(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe, offers=[{"id": "intro", "intro_price": "1"}])
    async with new_client(app) as browser:
        await sign_in(browser, app, "intro@example.com")
        assert (await subscribe(browser, localstripe, offer="intro")).status_code == 303
    invoices = _invoices(localstripe, await _customer(app, "intro@example.com"))
    assert [i["total"] for i in invoices] == [100]


async def test_a_declined_payment_shows_a_clear_message_and_grants_nothing(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe, policy={"registered_limit": 0})
    async with new_client(app) as browser:
        await sign_in(browser, app, "declined@example.com")
        failed = await subscribe(browser, localstripe, card=DECLINED_AT_CHARGE)
        assert failed.status_code == 402
        assert "declined" in failed.text and "not been charged" in failed.text
        assert 'id="checkout-form"' in failed.text
        assert "SECRET-1-2" not in (await browser.get("/articles/story-1")).text
        retry = await subscribe(browser, localstripe)
        assert retry.status_code == 303
        assert "SECRET-1-2" in (await browser.get("/articles/story-1")).text


async def test_an_unconfirmed_card_form_is_refused_clearly(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe)
    async with new_client(app) as browser:
        await sign_in(browser, app, "unconfirmed@example.com")
        page = await browser.get("/checkout/digital-monthly")
        step = await card_step(browser, "digital-monthly", csrf_of(page.text))
        secret = step.json()["client_secret"]
        posted = await browser.post(
            "/checkout/digital-monthly",
            data={"csrf": csrf_of(page.text), "setup_intent": secret.split("_secret_")[0]},
        )
        assert posted.status_code == 402 and "not confirmed" in posted.text
        forged = await browser.post(
            "/checkout/digital-monthly",
            data={"csrf": csrf_of(page.text), "setup_intent": "seti_forged"},
        )
        assert forged.status_code == 402 and "card form" in forged.text


async def test_cancel_in_one_step_then_resume_then_resubscribe(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe, policy={"registered_limit": 0})
    services = app.state.services
    async with new_client(app) as browser:
        await sign_in(browser, app, "cancel@example.com")
        await subscribe(browser, localstripe)
        account = await browser.get("/account")
        confirm = await browser.get("/account/cancel")
        assert "Yes, cancel" in confirm.text
        cancelled = await browser.post("/account/cancel", data={"csrf": csrf_of(account.text)})
        assert cancelled.headers["location"] == "/account?notice=cancelled"
        page = await browser.get("/account")
        assert "Cancelled: it ends" in page.text and "Resume subscription" in page.text
        assert "SECRET-1-2" in (await browser.get("/articles/story-1")).text
        resumed = await browser.post("/account/resume", data={"csrf": csrf_of(page.text)})
        assert resumed.headers["location"] == "/account?notice=resumed"
        assert "Renews on" in (await browser.get("/account")).text

        member = await services.members.accounts.by_email("cancel@example.com")
        current = await services.billing.current(member.id, services.clock())
        async with httpx.AsyncClient(auth=(SECRET, "")) as api:
            await api.delete(f"{localstripe.api_base}/v1/subscriptions/{current.id}")
        await services.billing.sync(services.clock())
        assert "SECRET-1-2" not in (await browser.get("/articles/story-1")).text
        assert "has ended" in (await browser.get("/account")).text
        again = await subscribe(browser, localstripe)
        assert again.status_code == 303
        assert "SECRET-1-2" in (await browser.get("/articles/story-1")).text


async def test_a_second_checkout_does_not_subscribe_twice(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe)
    async with new_client(app) as browser:
        await sign_in(browser, app, "twice@example.com")
        await subscribe(browser, localstripe)
        again = await browser.get("/checkout/digital-monthly")
        assert again.headers["location"] == "/account?notice=already-subscribed"
    invoices = _invoices(localstripe, await _customer(app, "twice@example.com"))
    assert len(invoices) == 1


async def test_stripe_unreachable_gives_a_clear_message_not_an_error(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    dead = LocalStripe()
    app = await app_factory(
        mail={"backend": "dev"},
        stripe={**stripe_settings(dead), "timeout_seconds": 2},
    )
    async with new_client(app) as browser:
        await sign_in(browser, app, "offline@example.com")
        page = await browser.get("/checkout/digital-monthly")
        assert page.status_code == 200, "the page itself needs no call to Stripe"
        step = await card_step(browser, "digital-monthly", csrf_of(page.text))
        assert step.status_code == 503
        error = step.json()["error"]
        assert "Payments are unavailable" in error and "Nothing was charged" in error


async def test_without_stripe_keys_the_site_says_payments_are_off(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(mail={"backend": "dev"})
    async with new_client(app) as browser:
        assert "not switched on" in (await browser.get("/subscribe")).text
        await sign_in(browser, app, "nokeys@example.com")
        assert (await browser.get("/checkout/digital-monthly")).status_code == 503
