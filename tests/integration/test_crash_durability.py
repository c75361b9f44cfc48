"""SIGKILL in the middle of load loses nothing that was acknowledged (issue 4, part 4).

A real ``meterwall serve`` process (on SQLite, then on a throwaway PostgreSQL
database) takes a bounded, concurrent load: signed Stripe webhook deliveries
about distinct customers' subscriptions, and readers subscribing through the
checkout.  After a random number of acknowledgements its whole process group
is killed with SIGKILL.  Then:

* every event answered 2xx is stored and processed, every checkout answered
  "subscribed" is stored, and every stored subscription already holds the
  state Stripe has (no half-written or stale rows);
* the server restarts on the same database, and the subscribers it
  acknowledged read everything;
* Stripe redelivers every event (it retries whatever was not acknowledged,
  and sends the events of subscriptions created during the crash): each is
  stored once and every account ends with the entitlement Stripe says.

The webhook handlers re-read each subscription from Stripe, so Stripe is the
session's localstripe emulator.  Set ``METERWALL_TEST_SEED`` to replay a run.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.access.model import Entitlement
from meterwall.billing.emulator import LocalStripe
from meterwall.billing.service import BillingService, plan_for
from meterwall.billing.store import BillingStore
from meterwall.billing.stripe import StripeGateway
from meterwall.billing.webhooks import HANDLERS, signature_header
from meterwall.content.store import ArticleStore
from meterwall.identity.accounts import AccountStore
from meterwall.settings import Settings
from meterwall.storage.engine import create_engine, is_sqlite
from meterwall.storage.migrate import upgrade
from meterwall.storage.schema import accounts, subscriptions, webhook_events
from tests.accounts_support import (
    GOOD_CARD,
    PUBLISHABLE,
    SECRET,
    WEBHOOK_SECRET,
    card_step,
    csrf_of,
    localstripe_fixture,  # noqa: F401 - the emulator fixture
)
from tests.backends import create_postgres_database, drop_postgres_database, free_port, unavailable
from tests.conftest import standard_articles

pytestmark = pytest.mark.filterwarnings(
    # The Stripe SDK's own httpx client posts form bodies in a way httpx deprecates.
    "ignore:Use 'content=<...>' to upload raw bytes/text content.:DeprecationWarning"
)

CUSTOMERS = 24
"""Subscriptions made at Stripe before the load, whose events are delivered."""
CHECKOUTS = 4
"""Readers who subscribe through the checkout during the load."""
CONCURRENCY = 8
STARTUP_SECONDS = 45
LOAD_SECONDS = 60
OFFER = "digital-monthly"
FATES = ("active", "ending", "canceled")
"""What each customer's subscription has become at Stripe by the time the load starts."""

_TOKEN = re.compile(r"/account/confirm\?token=([A-Za-z0-9_-]+)")


@dataclass(frozen=True, slots=True)
class Customer:
    """An account whose subscription was made at Stripe, and what became of it."""

    account_id: str
    customer_id: str
    subscription_id: str
    fate: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook event as Stripe sends it."""

    event_id: str
    body: bytes


@dataclass
class Outcome:
    """What the clients saw during the load."""

    acked: set[str] = field(default_factory=set)
    statuses: dict[str, int] = field(default_factory=dict)
    subscribed: set[str] = field(default_factory=set)
    killed_after: int | None = None


class Server:
    """``meterwall serve`` in a process group of its own, on a free loopback port."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "meterwall",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=log.parent,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
            start_new_session=True,
        )

    async def ready(self) -> None:
        """Wait until ``/readyz`` answers 200 (bounded)."""
        deadline = time.monotonic() + STARTUP_SECONDS
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    pytest.fail(f"the server exited at start:\n{self.log.read_text()[-3000:]}")
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        pytest.fail(f"the server did not become ready:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the whole process group: no handler runs, nothing is flushed."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a bound."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of this test's own: an SQLite file, or a throwaway PostgreSQL one."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'meterwall.db'}"
        (tmp_path / "data").mkdir()
        upgrade(url)
        yield url
        return
    found = create_postgres_database()
    if found is None:
        unavailable("PostgreSQL is not reachable at 127.0.0.1:5432")
    assert found is not None
    yield found
    drop_postgres_database(found)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Servers started by the test; any still running are killed with their group."""
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    built = create_engine(database_url, timeout=20)
    yield built
    await built.dispose()


def server_env(
    tmp_path: Path, database_url: str, emulator: LocalStripe, port: int
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METERWALL_", "PROMETHEUS"))}
    env.update(
        METERWALL_DATA_DIR=str(tmp_path / "data"),
        METERWALL_DATABASE_URL=database_url,
        METERWALL_SECRET_KEY="crash-test-secret",
        METERWALL_PUBLIC_URL=f"http://127.0.0.1:{port}",
        METERWALL_MAIL__BACKEND="dev",
        METERWALL_ACCOUNTS__LOGIN_LINKS_PER_IP_PER_HOUR="1000",
        METERWALL_STRIPE__SECRET_KEY=SECRET,
        METERWALL_STRIPE__PUBLISHABLE_KEY=PUBLISHABLE,
        METERWALL_STRIPE__WEBHOOK_SECRET=WEBHOOK_SECRET,
        METERWALL_STRIPE__API_BASE=emulator.api_base,
        METERWALL_STRIPE__JS_URL=emulator.js_url,
        METERWALL_OPS__ACCESS_LOG="false",
        METERWALL_OPS__GRACEFUL_SHUTDOWN_SECONDS="5",
    )
    return env


def billing(engine: AsyncEngine, emulator: LocalStripe, tmp_path: Path) -> BillingService:
    """The billing service the server uses, on the same database and Stripe."""
    settings = Settings(
        data_dir=tmp_path / "data",
        stripe={
            "secret_key": SECRET,
            "webhook_secret": WEBHOOK_SECRET,
            "api_base": emulator.api_base,
            "js_url": emulator.js_url,
        },
    )
    return BillingService(
        settings, BillingStore(engine), AccountStore(engine), StripeGateway(settings.stripe)
    )


async def confirm_card(emulator: LocalStripe, client_secret: str) -> str:
    """What Stripe.js does in the browser: confirm the setup intent with a good card."""
    setup_intent = client_secret.split("_secret_")[0]
    async with httpx.AsyncClient(timeout=10) as api:
        response = await api.post(
            f"{emulator.api_base}/v1/setup_intents/{setup_intent}/confirm",
            content=json.dumps(
                {
                    "key": PUBLISHABLE,
                    "client_secret": client_secret,
                    "payment_method_data": {
                        "type": "card",
                        "card": {
                            "number": GOOD_CARD,
                            "exp_month": "12",
                            "exp_year": "2034",
                            "cvc": "123",
                        },
                    },
                }
            ),
        )
    response.raise_for_status()
    return str(response.json()["id"])


async def subscribed_at_stripe(
    service: BillingService, emulator: LocalStripe, n: int, fate: str, now: datetime
) -> Customer:
    """An account whose subscription exists at Stripe only, then made ``fate`` there."""
    gateway = service.gateway
    assert gateway is not None
    offer = service.settings.offers[0]
    account = await service.accounts.get_or_create(
        f"crash-{n}-{uuid.uuid4().hex[:6]}@example.com", now
    )
    intent = await service.start_checkout(account, offer, datetime.now(UTC))
    confirmed = await gateway.setup_intent(await confirm_card(emulator, intent.client_secret))
    customer, method_id = confirmed.customer_id, confirmed.payment_method_id
    assert customer is not None
    assert method_id is not None
    await gateway.use_payment_method(customer, method_id)
    snap = await gateway.create_subscription(
        customer,
        plan_for(offer).plan_id,
        {"meterwall_account": account.id, "meterwall_offer": offer.id},
        None,
        idempotency_key=f"crash-{account.id}",
    )
    if fate == "ending":
        await gateway.set_cancel_at_period_end(snap.id, True)
    elif fate == "canceled":
        await gateway.cancel_now(snap.id)
    return Customer(account.id, customer, snap.id, fate)


def event(event_id: str, kind: str, obj: dict[str, Any]) -> Delivery:
    body = {"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}
    return Delivery(event_id, json.dumps(body).encode())


def events_of(customer: Customer, n: int) -> list[Delivery]:
    """The events Stripe sends about one customer's subscription."""
    sub = {
        "id": customer.subscription_id,
        "object": "subscription",
        "customer": customer.customer_id,
    }
    found = [event(f"evt_{n}_created", "customer.subscription.created", sub)]
    if customer.fate == "active":
        invoice = {"id": f"in_{n}", "object": "invoice", "subscription": customer.subscription_id}
        found.append(event(f"evt_{n}_paid", "invoice.paid", invoice))
    elif customer.fate == "ending":
        found.append(event(f"evt_{n}_updated", "customer.subscription.updated", sub))
    else:
        found.append(event(f"evt_{n}_deleted", "customer.subscription.deleted", sub))
    if n % 4 == 0:
        found.append(event(f"evt_{n}_charge", "charge.succeeded", {"id": f"ch_{n}"}))
    return found


async def deliver(client: httpx.AsyncClient, delivery: Delivery) -> httpx.Response:
    header = signature_header(delivery.body, WEBHOOK_SECRET, int(time.time()))
    return await client.post(
        "/webhooks/stripe",
        content=delivery.body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


async def sign_in(client: httpx.AsyncClient, email: str) -> None:
    """The passwordless login through the real server, reading the link from its mailbox."""
    page = await client.get("/account/login?next=/account")
    sent = await client.post(
        "/account/login", data={"csrf": csrf_of(page.text), "email": email, "next": "/account"}
    )
    assert sent.status_code == 303, sent.text
    mailbox = (await client.get("/dev/mailbox")).text
    mail = next(m for m in mailbox.split('<article class="mail">') if f"To {email}" in m)
    found = _TOKEN.search(mail)
    assert found is not None
    confirm = await client.get(f"/account/confirm?token={found.group(1)}")
    done = await client.post(
        "/account/confirm", data={"csrf": csrf_of(confirm.text), "token": found.group(1)}
    )
    assert done.status_code == 303, done.text


async def checkout(
    client: httpx.AsyncClient, emulator: LocalStripe, email: str, delay: float, seen: Outcome
) -> None:
    """Subscribe with a test card after ``delay`` seconds; "subscribed" is the acknowledgement."""
    await asyncio.sleep(delay)
    try:
        page = await client.get(f"/checkout/{OFFER}")
        step = await card_step(client, OFFER, csrf_of(page.text))
        assert step.status_code == 200, step.text
        setup_intent = await confirm_card(emulator, step.json()["client_secret"])
        done = await client.post(
            f"/checkout/{OFFER}",
            data={"csrf": csrf_of(page.text), "setup_intent": setup_intent, "coupon": ""},
        )
    except httpx.TransportError:
        return
    if done.status_code == 303 and done.headers["location"].endswith("notice=subscribed"):
        seen.subscribed.add(email)


async def load(
    server: Server,
    deliveries: list[Delivery],
    readers: dict[str, httpx.AsyncClient],
    emulator: LocalStripe,
    rng: random.Random,
    kill_after: int,
) -> Outcome:
    """Check out and deliver concurrently; SIGKILL the server at the ``kill_after``-th ack.

    Readers start their checkouts at random moments; the deliveries begin once the
    first checkout has answered, so each run acknowledges some subscriptions before
    the kill and may cut others short.
    """
    seen = Outcome()
    queue = list(reversed(deliveries))
    delays = [0.0, *sorted(rng.uniform(0, 1.5) for _ in range(len(readers) - 1))]
    first_checkout = asyncio.Event()

    async def reader(client: httpx.AsyncClient, email: str, delay: float) -> None:
        try:
            await checkout(client, emulator, email, delay, seen)
        finally:
            first_checkout.set()

    async def worker(client: httpx.AsyncClient) -> None:
        await first_checkout.wait()
        while queue and seen.killed_after is None:
            delivery = queue.pop()
            try:
                response = await deliver(client, delivery)
            except httpx.TransportError:
                continue
            seen.statuses[delivery.event_id] = response.status_code
            if response.is_success:
                seen.acked.add(delivery.event_id)
                if len(seen.acked) >= kill_after and seen.killed_after is None:
                    server.kill()
                    seen.killed_after = len(seen.acked)

    async with (
        asyncio.timeout(LOAD_SECONDS),
        httpx.AsyncClient(base_url=server.url, timeout=10) as client,
    ):
        await asyncio.gather(
            *(reader(c, email, delay) for (email, c), delay in zip(readers.items(), delays)),
            *(worker(client) for _ in range(CONCURRENCY)),
        )
    return seen


async def rows(engine: AsyncEngine, table: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(table))).all())


async def reads_everything(client: httpx.AsyncClient) -> bool:
    return "SECRET-1-2" in (await client.get("/articles/story-1")).text


async def assert_consistent(
    engine: AsyncEngine, customers: dict[str, Customer], deliveries: list[Delivery]
) -> None:
    """No half-written rows: the database is sound, every processed event's subscription is
    stored, and every stored subscription holds the state Stripe had (it was settled first)."""
    if is_sqlite(str(engine.url)):
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA integrity_check")).scalar_one() == "ok"
    sent = {d.event_id: d.body.decode() for d in deliveries}
    stored = {s.id: s for s in await rows(engine, subscriptions)}
    known_accounts = {a.id for a in await rows(engine, accounts)}
    for row in await rows(engine, webhook_events):
        assert row.payload == sent[row.id], row.id
        if row.processed_at is not None and row.type in HANDLERS:
            obj = json.loads(row.payload)["data"]["object"]
            assert obj.get("subscription", obj["id"]) in stored, row.id
    by_subscription = {c.subscription_id: c for c in customers.values()}
    for sub in stored.values():
        assert sub.account_id in known_accounts and sub.status
        fate = by_subscription.get(sub.id)
        if fate is not None:
            expected = "canceled" if fate.fate == "canceled" else "active"
            assert (sub.status, bool(sub.cancel_at_period_end)) == (expected, fate.fate == "ending")


async def stripe_subscriptions(service: BillingService, account_id: str) -> list[Any]:
    """The account's subscriptions as Stripe has them (none if the checkout never began)."""
    account = await service.accounts.by_id(account_id)
    if account is None or account.stripe_customer_id is None or service.gateway is None:
        return []
    return await service.gateway.subscriptions_of(account.stripe_customer_id)


async def test_sigkill_mid_load_loses_no_acknowledged_event_or_subscription(
    tmp_path: Path,
    database_url: str,
    engine: AsyncEngine,
    localstripe: LocalStripe,
    servers: list[Server],
) -> None:
    seed = int(os.environ.get("METERWALL_TEST_SEED") or random.randrange(1 << 32))
    rng = random.Random(seed)
    why = f"(replay with METERWALL_TEST_SEED={seed})"
    now = datetime.now(UTC)
    await ArticleStore(engine).save_all((a, "test") for a in standard_articles())
    service = billing(engine, localstripe, tmp_path)
    await service.ensure_plans()
    limit = asyncio.Semaphore(4)

    async def one(n: int) -> Customer:
        async with limit:
            return await subscribed_at_stripe(service, localstripe, n, FATES[n % 3], now)

    made = await asyncio.gather(*(one(n) for n in range(CUSTOMERS)))
    customers = {c.account_id: c for c in made}
    deliveries = [d for n, c in enumerate(made) for d in events_of(c, n)]
    rng.shuffle(deliveries)
    kill_after = rng.randint(len(deliveries) // 5, len(deliveries) * 3 // 5)

    port = free_port()
    env = server_env(tmp_path, database_url, localstripe, port)
    servers.append(Server(env, port, tmp_path / "server-1.log"))
    await servers[0].ready()
    readers = {
        f"reader-{n}-{uuid.uuid4().hex[:6]}@example.com": httpx.AsyncClient(
            base_url=servers[0].url, timeout=15
        )
        for n in range(CHECKOUTS)
    }
    try:
        for email, client in readers.items():
            await sign_in(client, email)
        seen = await load(servers[0], deliveries, readers, localstripe, rng, kill_after)
        assert seen.killed_after is not None, f"the load ended before {kill_after} acks {why}"
        assert len(seen.statuses) < len(deliveries), f"the kill came after the load {why}"
        assert set(seen.statuses.values()) <= {200, 503}, f"{seen.statuses} {why}"
        assert seen.subscribed, f"no checkout succeeded before the kill {why}"

        # Straight after the crash, before anything could repair it.
        events = {r.id: r for r in await rows(engine, webhook_events)}
        for event_id in seen.acked:
            assert event_id in events, f"acknowledged {event_id} was lost {why}"
            assert events[event_id].processed_at is not None, f"{event_id} unprocessed {why}"
            assert events[event_id].error is None, events[event_id].error
        emails = {a.email: a.id for a in await rows(engine, accounts)}
        for email in seen.subscribed:
            assert await service.entitlements(emails[email], datetime.now(UTC)) == {
                Entitlement.SUBSCRIPTION
            }, f"{email}'s acknowledged subscription was lost {why}"
        await assert_consistent(engine, customers, deliveries)

        servers.append(Server(env, port, tmp_path / "server-2.log"))
        await servers[1].ready()
        for email in seen.subscribed:
            assert await reads_everything(readers[email]), f"{email} lost access {why}"

        # Stripe retries what was not acknowledged and sends the events of subscriptions
        # made while the server died; here it redelivers everything, shuffled, at once.
        late: list[Delivery] = []
        paid: set[str] = set()
        for email in readers:
            for snap in await stripe_subscriptions(service, emails[email]):
                sub = {"id": snap.id, "object": "subscription", "customer": snap.customer_id}
                late.append(event(f"evt_late_{snap.id}", "customer.subscription.created", sub))
                if snap.status == "active":
                    paid.add(email)
        again = deliveries + late
        rng.shuffle(again)
        async with httpx.AsyncClient(base_url=servers[1].url, timeout=30) as client:
            gate = asyncio.Semaphore(CONCURRENCY)

            async def redeliver(delivery: Delivery) -> tuple[str, httpx.Response]:
                async with gate:
                    return delivery.event_id, await deliver(client, delivery)

            answers = dict(await asyncio.gather(*(redeliver(d) for d in again)))
        assert {r.status_code for r in answers.values()} == {200}, why
        for event_id in seen.acked:
            assert answers[event_id].text == "already processed", event_id

        events = {r.id: r for r in await rows(engine, webhook_events)}
        assert set(events) == {d.event_id for d in again}
        assert all(r.processed_at is not None and r.error is None for r in events.values())
        await assert_consistent(engine, customers, again)
        for account_id, customer in customers.items():
            held = await service.entitlements(account_id, datetime.now(UTC))
            wanted = set() if customer.fate == "canceled" else {Entitlement.SUBSCRIPTION}
            assert held == wanted, f"{customer} {why}"
        assert seen.subscribed <= paid, why
        for email in paid:
            assert await reads_everything(readers[email]), f"{email} paid but cannot read {why}"
    finally:
        for client in readers.values():
            await client.aclose()
        for server in servers:
            server.stop()
