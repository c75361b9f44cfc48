"""Checkout's card step: no setup intent before the form is submitted, and coupon codes
cannot be guessed (no answer without a card on the final post, and a limited number of
tries per account per hour, held under parallel requests), on localstripe."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from meterwall.billing.emulator import LocalStripe
from tests.accounts_support import (
    card_step,
    csrf_of,
    localstripe_fixture,  # noqa: F401 - the emulator fixture
    new_client,
    sign_in,
    stripe_settings,
    subscribe,
)

pytestmark = pytest.mark.usefixtures("localstripe")
OFFER = "digital-monthly"


async def _app(app_factory: Callable[..., Any], emulator: LocalStripe, **stripe: Any) -> Starlette:
    return await app_factory(
        mail={"backend": "dev"},
        stripe={**stripe_settings(emulator), **stripe},
        offers=[{"id": OFFER, "coupons": {"HALF": 50}}],
    )


def count_intents(app: Starlette) -> list[int]:
    """Count the setup intents the app asks the payment provider for."""
    gateway = app.state.services.billing.gateway
    made = [0]
    real = gateway.create_setup_intent

    async def counting(*args: Any, **kwargs: Any) -> Any:
        made[0] += 1
        return await real(*args, **kwargs)

    gateway.create_setup_intent = counting
    return made


async def test_opening_the_checkout_makes_no_setup_intent(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe)
    made = count_intents(app)
    async with new_client(app) as browser:
        await sign_in(browser, app, "opener@example.com")
        for _ in range(5):
            page = await browser.get(f"/checkout/{OFFER}")
            assert page.status_code == 200 and 'id="checkout-form"' in page.text
        assert made == [0]
        assert (await subscribe(browser, localstripe)).status_code == 303
        assert made == [1]


async def test_without_a_card_no_coupon_code_is_looked_at(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe)
    made = count_intents(app)
    async with new_client(app) as browser:
        await sign_in(browser, app, "prober@example.com")
        page = await browser.get(f"/checkout/{OFFER}")
        answers = []
        for code in ("HALF", "NOPE"):
            posted = await browser.post(
                f"/checkout/{OFFER}", data={"csrf": csrf_of(page.text), "coupon": code}
            )
            answers.append((posted.status_code, "Please enter your card details." in posted.text))
        assert answers == [(402, True), (402, True)]
        assert "coupon code is not valid" not in posted.text
        assert made == [0]


async def test_100_parallel_coupon_guesses_get_the_hourly_number_of_answers(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe, coupon_tries_per_hour=5)
    made = count_intents(app)
    async with new_client(app) as browser:
        await sign_in(browser, app, "guesser@example.com")
        csrf = csrf_of((await browser.get(f"/checkout/{OFFER}")).text)
        answers = await asyncio.gather(
            *(card_step(browser, OFFER, csrf, f"GUESS{n}") for n in range(100))
        )
        statuses = [a.status_code for a in answers]
        assert statuses.count(400) == 5
        assert statuses.count(429) == 95
        assert all(
            "coupon code is not valid" in a.json()["error"] for a in answers if a.status_code == 400
        )
        assert made == [0], "a wrong code makes no setup intent"
        # The right code is refused too once the tries are used up.
        late = await card_step(browser, OFFER, csrf, "HALF")
        assert late.status_code == 429
    async with new_client(app, "10.0.0.9") as other:
        await sign_in(other, app, "honest@example.com")
        done = await subscribe(other, localstripe, coupon="half")
        assert done.status_code == 303, "each account has its own tries"


async def test_card_forms_per_account_are_limited_under_parallel_requests(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe, card_forms_per_hour=3)
    made = count_intents(app)
    async with new_client(app) as browser:
        await sign_in(browser, app, "intents@example.com")
        csrf = csrf_of((await browser.get(f"/checkout/{OFFER}")).text)
        answers = await asyncio.gather(*(card_step(browser, OFFER, csrf) for _ in range(30)))
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 3 and statuses.count(429) == 27
    assert made == [3]


async def test_the_card_step_needs_the_forms_token(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe)
    async with new_client(app) as browser:
        await sign_in(browser, app, "csrf@example.com")
        forged = await browser.post(f"/checkout/{OFFER}/intent", data={"csrf": "x"})
        assert forged.status_code == 400
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver"
    ) as stranger:
        anonymous = await stranger.post(f"/checkout/{OFFER}/intent", data={"csrf": "x"})
        assert anonymous.status_code == 400
