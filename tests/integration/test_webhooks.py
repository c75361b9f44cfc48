"""Stripe webhooks: ATTACKS.md row 21 (replay, reorder, forge) and idempotent processing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from meterwall.billing.emulator import LocalStripe
from meterwall.billing.webhooks import signature_header
from meterwall.storage.schema import subscriptions, webhook_events
from tests.accounts_support import (
    SECRET,
    WEBHOOK_SECRET,
    localstripe_fixture,  # noqa: F401 - the emulator fixture
    new_client,
    sign_in,
    stripe_settings,
    subscribe,
)

pytestmark = pytest.mark.usefixtures("localstripe")


@pytest.fixture
async def hook_app(app_factory: Callable[..., Any], localstripe: LocalStripe) -> Starlette:
    return await app_factory(
        mail={"backend": "dev"},
        stripe=stripe_settings(localstripe, webhook_secret=WEBHOOK_SECRET),
        policy={"registered_limit": 0},
    )


def _event(event_id: str, kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"id": event_id, "type": kind, "data": {"object": obj}}).encode()


async def _deliver(
    client: httpx.AsyncClient,
    body: bytes,
    clock: Any,
    secret: str = WEBHOOK_SECRET,
    header: str | None = None,
) -> httpx.Response:
    signed = header or signature_header(body, secret, int(clock.now.timestamp()))
    return await client.post(
        "/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": signed, "Content-Type": "application/json"},
    )


async def _rows(app: Starlette, table: Any) -> list[Any]:
    async with app.state.services.engine.connect() as conn:
        return list((await conn.execute(select(table))).all())


async def _subscriber(
    client: httpx.AsyncClient, app: Starlette, emulator: LocalStripe, email: str
) -> str:
    await sign_in(client, app, email)
    assert (await subscribe(client, emulator)).status_code == 303
    services = app.state.services
    account = await services.members.accounts.by_email(email)
    current = await services.billing.current(account.id, services.clock())
    return str(current.id)


async def _cancel_at_stripe(emulator: LocalStripe, subscription_id: str) -> None:
    async with httpx.AsyncClient(auth=(SECRET, "")) as api:
        await api.delete(f"{emulator.api_base}/v1/subscriptions/{subscription_id}")


async def _reads_story(client: httpx.AsyncClient) -> bool:
    return "SECRET-1-2" in (await client.get("/articles/story-1")).text


async def test_attack_21_forged_signatures_get_400_and_change_nothing(
    hook_app: Starlette, clock: Any
) -> None:
    body = _event("evt_forged", "customer.subscription.deleted", {"id": "sub_x"})
    now = int(clock.now.timestamp())
    good = signature_header(body, WEBHOOK_SECRET, now)
    reserialised = json.dumps(json.loads(body), indent=2).encode()
    cases = {
        "wrong secret": signature_header(body, "whsec_someone_else", now),
        "stale": signature_header(body, WEBHOOK_SECRET, now - 301),
        "from the future": signature_header(body, WEBHOOK_SECRET, now + 301),
        "no v1": f"t={now}",
        "garbage": "not a signature",
        "v0 only": good.replace("v1=", "v0="),
    }
    async with new_client(hook_app) as client:
        for name, header in cases.items():
            response = await _deliver(client, body, clock, header=header)
            assert response.status_code == 400, name
        assert (await _deliver(client, reserialised, clock, header=good)).status_code == 400
        missing = await client.post("/webhooks/stripe", content=body)
        assert missing.status_code == 400
    assert await _rows(hook_app, webhook_events) == []


async def test_a_signature_among_several_v1_values_is_accepted(
    hook_app: Starlette, clock: Any
) -> None:
    body = _event("evt_rotated", "charge.refunded", {"id": "ch_1"})
    now = int(clock.now.timestamp())
    header = signature_header(body, WEBHOOK_SECRET, now)
    other = signature_header(body, "whsec_old", now).split(",")[1]
    async with new_client(hook_app) as client:
        response = await _deliver(
            client, body, clock, header=f"{header.split(',')[0]},{other},{header.split(',')[1]}"
        )
    assert response.status_code == 200


async def test_unknown_event_types_are_stored_and_answered_200(
    hook_app: Starlette, clock: Any
) -> None:
    body = _event("evt_unknown", "charge.refunded", {"id": "ch_1"})
    async with new_client(hook_app) as client:
        response = await _deliver(client, body, clock)
    assert response.status_code == 200
    [row] = await _rows(hook_app, webhook_events)
    assert row.id == "evt_unknown" and row.payload == body.decode() and row.processed_at


async def test_signed_garbage_gets_400(hook_app: Starlette, clock: Any) -> None:
    async with new_client(hook_app) as client:
        for body in (b"not json", b"[1, 2]", b'{"type": "x"}'):
            assert (await _deliver(client, body, clock)).status_code == 400


async def test_attack_21_a_replayed_event_is_processed_once(
    hook_app: Starlette, localstripe: LocalStripe, clock: Any
) -> None:
    async with new_client(hook_app) as client:
        sub_id = await _subscriber(client, hook_app, localstripe, "replay@example.com")
        body = _event("evt_dup", "customer.subscription.updated", {"id": sub_id})
        first = await _deliver(client, body, clock)
        second = await _deliver(client, body, clock)
        assert (first.status_code, second.status_code) == (200, 200)
        assert second.text == "already processed"
        [row] = await _rows(hook_app, webhook_events)
        assert row.attempts == 1 and row.error is None
        assert await _reads_story(client)


async def test_attack_21_concurrent_deliveries_are_processed_once(
    hook_app: Starlette, localstripe: LocalStripe, clock: Any
) -> None:
    async with new_client(hook_app) as client:
        sub_id = await _subscriber(client, hook_app, localstripe, "concurrent@example.com")
        await _cancel_at_stripe(localstripe, sub_id)
        body = _event("evt_same", "customer.subscription.deleted", {"id": sub_id})
        answers = await asyncio.gather(*(_deliver(client, body, clock) for _ in range(5)))
        assert all(a.status_code == 200 for a in answers)
        assert sum(a.text == "processed" for a in answers) == 1
        [row] = await _rows(hook_app, webhook_events)
        assert row.attempts == 1
        assert not await _reads_story(client)


@pytest.mark.parametrize("order", ["in order", "reversed"])
async def test_attack_21_out_of_order_deliveries_end_in_stripes_state(
    hook_app: Starlette, localstripe: LocalStripe, clock: Any, order: str
) -> None:
    async with new_client(hook_app) as client:
        sub_id = await _subscriber(
            client, hook_app, localstripe, f"{order.replace(' ', '-')}@example.com"
        )
        await _cancel_at_stripe(localstripe, sub_id)
        created = _event(
            f"evt_created_{order[:3]}",
            "customer.subscription.created",
            {"id": sub_id, "status": "active"},
        )
        deleted = _event(
            f"evt_deleted_{order[:3]}",
            "customer.subscription.deleted",
            {"id": sub_id, "status": "canceled"},
        )
        bodies = [created, deleted] if order == "in order" else [deleted, created]
        for body in bodies:
            assert (await _deliver(client, body, clock)).status_code == 200
        [row] = await _rows(hook_app, subscriptions)
        assert row.status == "canceled"
        assert not await _reads_story(client)


async def test_a_failed_invoice_event_moves_the_subscription_to_its_stripe_state(
    hook_app: Starlette, localstripe: LocalStripe, clock: Any
) -> None:
    async with new_client(hook_app) as client:
        sub_id = await _subscriber(client, hook_app, localstripe, "invoice@example.com")
        await _cancel_at_stripe(localstripe, sub_id)
        body = _event("evt_inv", "invoice.payment_failed", {"id": "in_1", "subscription": sub_id})
        assert (await _deliver(client, body, clock)).status_code == 200
        assert not await _reads_story(client)


async def test_a_processing_error_is_kept_on_the_row_and_retried(
    app_factory: Callable[..., Any], clock: Any
) -> None:
    dead = LocalStripe()
    app = await app_factory(stripe={**stripe_settings(dead), "timeout_seconds": 1})
    body = _event("evt_retry", "customer.subscription.updated", {"id": "sub_missing"})
    async with new_client(app) as client:
        failed = await _deliver(client, body, clock)
        assert failed.status_code == 503
        [row] = await _rows(app, webhook_events)
        assert row.processed_at is None and row.attempts == 1
        assert "GatewayUnavailable" in row.error
        clock.now += timedelta(seconds=30)
        again = await _deliver(client, body, clock)
        assert again.status_code == 503
        [row] = await _rows(app, webhook_events)
        assert row.attempts == 2


async def test_stored_payloads_are_purged_after_the_retention_period(
    app_factory: Callable[..., Any], clock: Any
) -> None:
    app = await app_factory(stripe={"webhook_secret": WEBHOOK_SECRET, "webhook_retention_days": 30})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        old = _event("evt_old", "customer.created", {"id": "cus_1"})
        assert (await _deliver(client, old, clock)).status_code == 200
        clock.now += timedelta(days=29)
        new = _event("evt_new", "customer.created", {"id": "cus_2"})
        assert (await _deliver(client, new, clock)).status_code == 200
        clock.now += timedelta(days=2)
        await app.state.meter_purger.purge()
        assert [r.id for r in await _rows(app, webhook_events)] == ["evt_new"]
        # The forgotten event cannot come back: its signature is long out of date.
        replayed = await _deliver(
            client, old, clock, header=signature_header(old, WEBHOOK_SECRET, 0)
        )
        assert replayed.status_code == 400
