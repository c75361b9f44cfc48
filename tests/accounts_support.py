"""Helpers and fixtures for the accounts and billing tests: the emulator, login, checkout."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from meterwall.billing.emulator import LocalStripe, available
from meterwall.identity.devmail import DevMailer

SECRET = "sk_test_meterwall"
PUBLISHABLE = "pk_test_meterwall"
WEBHOOK_SECRET = "whsec_meterwall_test"
GOOD_CARD = "4242424242424242"
DECLINED_AT_CHARGE = "4000000000000341"
DECLINED_AT_SETUP = "4000000000000002"

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_LINK = re.compile(r"(https?://\S+/account/confirm\?token=[A-Za-z0-9_-]+)")


@pytest.fixture(scope="session", name="localstripe")
def localstripe_fixture() -> Iterator[LocalStripe]:
    """One localstripe process for the test session, on a free loopback port."""
    if not available():
        if os.environ.get("CI") == "true":
            pytest.fail("localstripe is not installed (pip install -e '.[test]')")
        pytest.skip("localstripe is not installed; install the test extra to run billing tests")
    with LocalStripe() as emulator:
        yield emulator


def stripe_settings(emulator: LocalStripe, **extra: Any) -> dict[str, Any]:
    """Settings overrides pointing billing at the emulator."""
    return {
        "secret_key": SECRET,
        "publishable_key": PUBLISHABLE,
        "webhook_secret": WEBHOOK_SECRET,
        "api_base": emulator.api_base,
        "js_url": emulator.js_url,
        **extra,
    }


def csrf_of(html: str) -> str:
    """The CSRF token in a page's first form."""
    found = _CSRF.search(html)
    assert found, "no form with a CSRF token on the page"
    return found.group(1)


def last_link(app: Starlette, email: str) -> str:
    """The login link most recently mailed to ``email`` by the dev mailer."""
    mailer = app.state.services.mailer
    assert isinstance(mailer, DevMailer)
    for message in mailer.messages:
        if message.to == email:
            found = _LINK.search(message.text)
            assert found
            return found.group(1)
    raise AssertionError(f"no mail to {email}")


async def request_link(
    client: httpx.AsyncClient, email: str, next_path: str = "/account"
) -> httpx.Response:
    """Ask for a login link, as the login form does."""
    page = await client.get(f"/account/login?next={next_path}")
    return await client.post(
        "/account/login", data={"csrf": csrf_of(page.text), "email": email, "next": next_path}
    )


async def sign_in(
    client: httpx.AsyncClient, app: Starlette, email: str, next_path: str = "/account"
) -> httpx.Response:
    """The whole login flow: request a link, open it, press the button."""
    sent = await request_link(client, email, next_path)
    assert sent.status_code == 303, sent.text
    link = last_link(app, email)
    confirm = await client.get("/account/confirm?" + link.split("?", 1)[1])
    assert confirm.status_code == 200
    token = link.rsplit("token=", 1)[1]
    return await client.post(
        "/account/confirm", data={"csrf": csrf_of(confirm.text), "token": token}
    )


def new_client(app: Starlette, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    """A client with its own cookie jar (another browser)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(ip, 4321)), base_url="https://testserver"
    )


def confirm_card(
    emulator: LocalStripe, client_secret: str, number: str = GOOD_CARD
) -> dict[str, Any]:
    """Do what Stripe.js does in the browser: confirm the setup intent with a card."""
    setup_intent = client_secret.split("_secret_")[0]
    response = httpx.post(
        f"{emulator.api_base}/v1/setup_intents/{setup_intent}/confirm",
        content=json.dumps(
            {
                "key": PUBLISHABLE,
                "client_secret": client_secret,
                "payment_method_data": {
                    "type": "card",
                    "card": {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
                },
            }
        ),
        timeout=10,
    )
    return {"status": response.status_code, **response.json()}


async def card_step(
    client: httpx.AsyncClient, offer: str, csrf: str, coupon: str = ""
) -> httpx.Response:
    """What checkout.js does when the form is submitted: ask for the card step's intent."""
    return await client.post(f"/checkout/{offer}/intent", data={"csrf": csrf, "coupon": coupon})


async def subscribe(
    client: httpx.AsyncClient,
    emulator: LocalStripe,
    offer: str = "digital-monthly",
    card: str = GOOD_CARD,
    coupon: str = "",
) -> httpx.Response:
    """Open the checkout, submit it as checkout.js does (the card step, a card confirmed
    like Stripe.js would), and post the form.  A refused card step is returned as it is."""
    page = await client.get(f"/checkout/{offer}")
    assert page.status_code == 200, page.text
    step = await card_step(client, offer, csrf_of(page.text), coupon)
    if step.status_code != 200:
        return step
    secret = step.json()["client_secret"]
    confirmed = confirm_card(emulator, secret, card)
    data = {"csrf": csrf_of(page.text), "setup_intent": confirmed.get("id", ""), "coupon": coupon}
    if confirmed["status"] != 200:
        data["setup_intent"] = secret.split("_secret_")[0]
    return await client.post(f"/checkout/{offer}", data=data)
