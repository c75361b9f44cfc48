"""In real headless Chromium: from the gate to a paid subscription, a gift link, and cancel.

Runs the site under uvicorn on a loopback port, with localstripe for Stripe
(its fake Stripe.js collects the card) and the dev mailer for the login link.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from meterwall.billing.emulator import LocalStripe
from tests.accounts_support import (
    WEBHOOK_SECRET,
    localstripe_fixture,  # noqa: F401 - the emulator fixture
    stripe_settings,
)
from tests.conftest import standard_articles

pytestmark = pytest.mark.browser

EMAIL = "browser-reader@example.com"


@pytest.fixture
def site(live_site: Callable[..., Any], localstripe: LocalStripe) -> Iterator[str]:
    server = live_site(
        standard_articles(),
        mail={"backend": "dev"},
        stripe=stripe_settings(localstripe),
        policy={"anonymous_limit": 1},
    )
    localstripe.configure_webhook(f"{server.url}/webhooks/stripe", WEBHOOK_SECRET)
    try:
        yield str(server.url)
    finally:
        localstripe.configure_webhook("http://127.0.0.1:9/", WEBHOOK_SECRET)


def _webhooks_processed(database: Path, timeout: float = 8.0) -> list[tuple[str, str | None]]:
    deadline = time.monotonic() + timeout
    rows: list[tuple[str, str | None]] = []
    while time.monotonic() < deadline:
        with sqlite3.connect(database) as conn:
            rows = conn.execute(
                "SELECT type, processed_at FROM webhook_events"
                " WHERE type LIKE 'customer.subscription.%'"
            ).fetchall()
        if rows and all(r[1] for r in rows):
            return rows
        time.sleep(0.2)
    return rows


def test_gate_to_paid_subscription_to_full_article_then_cancel(
    site: str, chromium: Any, tmp_path: Path
) -> None:
    reader = chromium.new_context()
    friend = chromium.new_context()
    try:
        page = reader.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{site}/articles/story-1")
        assert page.locator("text=SECRET-1-2").count() == 1
        page.goto(f"{site}/articles/story-2")
        assert page.locator("text=SECRET-2-2").count() == 0
        page.locator(".gate a.button").click()
        page.wait_for_url(f"{site}/subscribe")
        page.locator("a.button[href='/checkout/digital-monthly']").click()
        page.wait_for_url("**/account/login?next=/checkout/digital-monthly")
        page.fill("#email", EMAIL)
        page.get_by_role("button", name="Email me a sign-in link").click()
        page.wait_for_url("**/account/login/sent")
        page.get_by_role("link", name="demo mailbox").click()
        page.locator("pre a").first.click()
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{site}/checkout/digital-monthly")

        page.fill("#card-element input[placeholder=number]", "4242424242424242")
        page.fill("#card-element input[placeholder=exp_month]", "12")
        page.fill("#card-element input[placeholder=exp_year]", "34")
        page.fill("#card-element input[placeholder=cvc]", "123")
        page.fill("#card-element input[placeholder=postal_code]", "02139")
        page.locator("#pay").click()
        page.wait_for_url(f"{site}/account?**")
        errors = page.locator("[role=alert]")
        assert page.url.endswith("?notice=subscribed"), errors.all_inner_texts()
        assert page.locator("text=Thank you for subscribing").count() == 1

        page.goto(f"{site}/articles/story-2")
        assert page.locator("text=SECRET-2-2").count() == 1
        assert page.locator(".meter-banner").count() == 0

        page.get_by_role("link", name="Gift this article").click()
        page.get_by_role("button", name="Create gift link").click()
        link = page.locator("input.gift-link").input_value()
        other = friend.new_page()
        other.goto(f"{site}/articles/story-3")
        other.goto(link)
        assert other.locator("text=SECRET-2-2").count() == 1

        page.goto(f"{site}/account")
        page.get_by_role("button", name="Cancel subscription").click()
        page.wait_for_url(f"{site}/account?notice=cancelled")
        assert page.locator("text=Cancelled: it ends").count() == 1
        page.goto(f"{site}/articles/story-4")
        assert page.locator("text=SECRET-4-2").count() == 1
    finally:
        reader.close()
        friend.close()
    processed = _webhooks_processed(tmp_path / "meterwall.db")
    assert "customer.subscription.created" in {t for t, _ in processed}, processed
