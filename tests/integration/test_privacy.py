"""Deleting a reader's data: every table is read back after each action.

The tables come from the schema's metadata, so a table added later is
checked too: if it keeps something about the reader that deletion misses,
these tests fail.  Runs on SQLite, and on PostgreSQL (and a Redis meter)
when ``METERWALL_TEST_DATABASE_URL`` (``METERWALL_TEST_REDIS_URL``) is set.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select
from starlette.applications import Starlette

from meterwall.access.policy import meter_window
from meterwall.analytics.funnel import funnel_report
from meterwall.analytics.periods import Grain
from meterwall.analytics.revenue import revenue_report
from meterwall.billing.emulator import LocalStripe, free_port
from meterwall.identity.accounts import meter_key
from meterwall.privacy.register import REGISTER
from meterwall.storage.schema import metadata, webhook_events
from tests.accounts_support import (
    SECRET,
    csrf_of,
    localstripe_fixture,  # noqa: F401 - the emulator fixture
    new_client,
    sign_in,
    stripe_settings,
    subscribe,
)
from tests.conftest import NOW

pytestmark = pytest.mark.usefixtures("localstripe")

DOCS = Path(__file__).parents[2] / "docs" / "privacy.md"
READ_BEFORE_SIGN_IN = ("story-1", "story-2")
READ_ON_LAPTOP = ("story-4",)
READ_SIGNED_IN = ("story-3",)
ALL_READ = READ_BEFORE_SIGN_IN + READ_ON_LAPTOP + READ_SIGNED_IN


Dump = dict[str, list[dict[str, Any]]]


async def dump(app: Starlette) -> Dump:
    """Every row of every table the schema declares."""
    engine = app.state.services.engine
    async with engine.connect() as conn:
        return {
            table.name: [dict(r) for r in (await conn.execute(select(table))).mappings()]
            for table in metadata.sorted_tables
        }


def tables_mentioning(tables: Dump, needles: Iterable[str]) -> dict[str, set[str]]:
    """For each needle found anywhere, the tables holding it."""
    found: dict[str, set[str]] = {}
    for needle in needles:
        for name, rows in tables.items():
            if any(needle in str(value) for row in rows for value in row.values()):
                found.setdefault(needle, set()).add(name)
    return found


async def reader_id_of(client: httpx.AsyncClient) -> str:
    """The reader id in this browser's cookie, as the export says."""
    return str(
        (await client.get("/account/meter/export.json")).json()["reader_cookie"]["reader_id"]
    )


class Person:
    """One reader with two browsers, and every id they are known by."""

    def __init__(self, app: Starlette, email: str) -> None:
        self.app = app
        self.email = email
        self.reader_ids: list[str] = []
        self.account_id = ""

    @property
    def services(self) -> Any:
        return self.app.state.services

    async def read(self, client: httpx.AsyncClient, slugs: Iterable[str]) -> None:
        for slug in slugs:
            assert (await client.get(f"/articles/{slug}")).status_code == 200

    async def sign_in(self, client: httpx.AsyncClient) -> None:
        self.reader_ids.append(await reader_id_of(client))
        done = await sign_in(client, self.app, self.email)
        assert done.status_code == 303, done.text
        self.reader_ids.append(await reader_id_of(client))
        account = await self.services.members.accounts.by_email(self.email)
        self.account_id = account.id

    def ids(self) -> list[str]:
        return [*self.reader_ids, meter_key(self.account_id)]

    def pseudonyms(self) -> list[str]:
        return [self.services.events.pseudonyms.of(r) for r in self.ids()]

    async def counted(self) -> dict[str, list[str]]:
        """Each reader id's counted article ids this period ("" for a bare count)."""
        window = meter_window(await self.services.access.policy_for(""), NOW)
        meter = self.services.access.meter
        return {r: [c.article_id for c in await meter.counted(r, window)] for r in self.ids()}


async def figures(app: Starlette) -> tuple[dict[str, int], int, int]:
    """The publisher's funnel totals, and new and cancelled subscriptions this month."""
    engine = app.state.services.engine
    month = date(2026, 11, 1), date(2026, 11, 30)
    funnel = await funnel_report(engine, *month, Grain.MONTH)
    revenue = await revenue_report(
        engine, app.state.services.settings.offers, *month, month[1], Grain.MONTH
    )
    return funnel.totals, revenue.new, revenue.cancelled


async def _app(app_factory: Callable[..., Any], emulator: LocalStripe, **extra: Any) -> Starlette:
    return await app_factory(
        mail={"backend": "dev"},
        stripe=stripe_settings(emulator, **extra),
        policy={"anonymous_limit": 5, "registered_limit": 5},
    )


async def reader_with_history(
    app: Starlette, emulator: LocalStripe, phone: httpx.AsyncClient, laptop: httpx.AsyncClient
) -> Person:
    """A subscriber who read on two browsers before signing in on each, with a gift link
    and complimentary access."""
    person = Person(app, "reader@example.com")
    await person.read(phone, READ_BEFORE_SIGN_IN)
    await person.sign_in(phone)
    await person.read(phone, READ_SIGNED_IN)
    await person.read(laptop, READ_ON_LAPTOP)
    await person.sign_in(laptop)
    assert (await subscribe(phone, emulator)).status_code == 303
    form = await phone.get("/gifts/new?article=story-5")
    made = await phone.post("/gifts", data={"csrf": csrf_of(form.text), "article": "story-5"})
    assert made.status_code == 200, made.text
    account = await person.services.members.accounts.by_email(person.email)
    await person.services.billing.grant(account, 30, "Press pass", NOW)
    await person.services.events.writer.flush()
    return person


async def store_webhook(app: Starlette, customer: str, subscription: str) -> None:
    """A Stripe notification about the subscription, as the webhook endpoint stores it."""
    payload: dict[str, Any] = {
        "id": "evt_1",
        "type": "customer.subscription.updated",
        "data": {"object": {"id": subscription, "customer": customer}},
    }
    async with app.state.services.engine.begin() as conn:
        await conn.execute(
            insert(webhook_events).values(
                id="evt_1", type=payload["type"], payload=json.dumps(payload), received_at=NOW
            )
        )


def test_the_register_and_the_docs_cover_every_table() -> None:
    tables = {t.name for t in metadata.sorted_tables}
    assert tables == set(REGISTER)
    rows = {
        line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
        for line in DOCS.read_text().splitlines()
        if line.startswith("| `")
    }
    assert rows == {
        f"`{name}`": [use.about_readers, use.kept, use.reading_data, use.account]
        for name, use in REGISTER.items()
    }


async def test_the_export_covers_every_browser_and_the_grants(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe)
    async with (
        app.router.lifespan_context(app),
        new_client(app) as phone,
        new_client(app) as laptop,
    ):
        await reader_with_history(app, localstripe, phone, laptop)
        mine = (await phone.get("/account/meter/export.json")).json()
    read = {e["article_id"] for e in mine["events"]["items"] if e["kind"] == "page_view"}
    assert read == set(ALL_READ)
    assert [g["note"] for g in mine["complimentary_grants"]] == ["Press pass"]
    assert len(mine["gift_links"]) == 1 and len(mine["linked_reader_ids"]) == 2
    assert len(mine["login_links"]) == 2


async def test_delete_my_reading_data_reaches_every_browser_and_keeps_the_count(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe)
    async with (
        app.router.lifespan_context(app),
        new_client(app) as phone,
        new_client(app) as laptop,
    ):
        person = await reader_with_history(app, localstripe, phone, laptop)
        before = await figures(app)
        page = await laptop.get("/account/meter")
        assert "Delete my reading data" in page.text and "Delete my account" in page.text
        done = await laptop.post("/account/meter/delete", data={"csrf": csrf_of(page.text)})
        assert done.status_code == 303 and "set-cookie" not in done.headers
        after = await laptop.get(done.headers["location"])
        assert "still signed in" in after.text and "4 of 5" in after.text
        await person.services.events.writer.flush()
        tables = await dump(app)
        # The subscriber is signed in on both browsers and still reads everything.
        for browser in (phone, laptop):
            assert (await browser.get("/account")).status_code == 200
            assert "SECRET-8-2" in (await browser.get("/articles/story-8")).text
        found = tables_mentioning(
            tables, [*ALL_READ, *person.pseudonyms(), *person.reader_ids[::2]]
        )
        assert found == {slug: {"articles"} for slug in ALL_READ}
        assert tables["account_readers"] == []
        assert all(e["article_id"] == "" and e["alias"] == "" for e in tables["events"])
        assert await person.counted() == {
            **{r: [] for r in person.reader_ids},
            meter_key(person.account_id): [""] * 4,
        }
        # The account itself stays, with what was asked to stay.
        for table in (
            "accounts",
            "sessions",
            "subscriptions",
            "gift_links",
            "complimentary_grants",
        ):
            assert len(tables[table]) >= 1, table
        funnel, new, cancelled = await figures(app)
        assert (funnel["registered"], funnel["subscribed"], new, cancelled) == (1, 1, 1, 0)
        assert before[0]["registered"] == 1 and before[1:] == (1, 0)


async def test_an_anonymous_reader_keeps_the_count_and_the_cookie(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe)
    async with app.router.lifespan_context(app), new_client(app) as browser:
        for n in range(1, 6):
            await browser.get(f"/articles/story-{n}")
        reader = await reader_id_of(browser)
        page = await browser.get("/account/meter")
        done = await browser.post("/account/meter/delete", data={"csrf": csrf_of(page.text)})
        assert done.status_code == 303
        await app.state.services.events.writer.flush()
        tables = await dump(app)
        assert "SECRET-6-2" not in (await browser.get("/articles/story-6")).text
    pseudonym = app.state.services.events.pseudonyms.of(reader)
    found = tables_mentioning(tables, [pseudonym, *(f"story-{n}" for n in range(1, 6))])
    assert set(found) == {f"story-{n}" for n in range(1, 6)}
    assert all(v == {"articles"} for v in found.values())


async def test_delete_my_account_erases_it_everywhere_and_cancels_at_stripe(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe)
    async with (
        app.router.lifespan_context(app),
        new_client(app) as phone,
        new_client(app) as laptop,
    ):
        person = await reader_with_history(app, localstripe, phone, laptop)
        account = await person.services.members.accounts.by_email(person.email)
        customer = account.stripe_customer_id
        subscription = (await person.services.billing.store.of_account(account.id))[0].id
        await store_webhook(app, customer, subscription)
        before = await figures(app)

        form = await phone.get("/account/delete")
        assert form.status_code == 200 and "Type your email address" in form.text
        wrong = await phone.post(
            "/account/delete", data={"csrf": csrf_of(form.text), "confirm": "someone@else.org"}
        )
        assert wrong.status_code == 400 and "nothing has been deleted" in wrong.text
        assert await person.services.members.accounts.by_email(person.email) is not None
        forged = await phone.post("/account/delete", data={"csrf": "x", "confirm": person.email})
        assert forged.status_code == 400

        done = await phone.post(
            "/account/delete",
            data={"csrf": csrf_of(form.text), "confirm": " Reader@Example.com "},
        )
        assert done.status_code == 303 and done.headers["location"] == "/account/deleted"
        assert "has been deleted" in (await phone.get("/account/deleted")).text
        for browser in (phone, laptop):
            assert (await browser.get("/account")).headers["location"].startswith("/account/login")
        await person.services.events.writer.flush()
        tables = await dump(app)
        assert "meter-banner" in (await phone.get("/articles/story-8")).text  # no subscriber
        needles = [
            person.email,
            account.id,
            str(customer),
            subscription,
            *person.pseudonyms(),
            *person.reader_ids,
            *ALL_READ,
            "story-5",
        ]
        found = tables_mentioning(tables, needles)
        assert found == {slug: {"articles"} for slug in (*ALL_READ, "story-5")}
        assert await person.counted() == {r: [] for r in person.ids()}
        # The publisher's figures keep the person as anonymous counts.
        funnel, new, cancelled = await figures(app)
        assert (funnel["registered"], funnel["subscribed"], new, cancelled) == (1, 1, 1, 1)
        assert funnel["visitors"] >= 1 and before[1:] == (1, 0)

    async with httpx.AsyncClient(
        base_url=localstripe.api_base, auth=(SECRET, ""), timeout=10
    ) as stripe:
        sub = (await stripe.get(f"/v1/subscriptions/{subscription}")).json()
        assert sub.get("status") == "canceled" or "error" in sub
        gone = await stripe.get(f"/v1/customers/{customer}")
        assert gone.status_code == 404 or gone.json().get("deleted") is True


async def test_account_stays_when_stripe_cannot_be_reached(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await app_factory(
        mail={"backend": "dev"},
        stripe=stripe_settings(localstripe, api_base=f"http://127.0.0.1:{free_port()}"),
    )
    async with app.router.lifespan_context(app), new_client(app) as browser:
        person = Person(app, "unlucky@example.com")
        await person.sign_in(browser)
        await person.services.members.accounts.set_customer(person.account_id, "cus_unreachable")
        form = await browser.get("/account/delete")
        done = await browser.post(
            "/account/delete", data={"csrf": csrf_of(form.text), "confirm": person.email}
        )
        assert done.status_code == 503
        assert "nothing has been deleted" in done.text
        assert await person.services.members.accounts.by_email(person.email) is not None
        assert (await browser.get("/account")).status_code == 200


async def test_a_cancelled_subscription_is_not_counted_as_cancelled_twice(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await _app(app_factory, localstripe)
    async with app.router.lifespan_context(app), new_client(app) as browser:
        assert (await browser.get("/account/delete")).headers["location"] == (
            "/account/login?next=/account/delete"
        )
        person = Person(app, "leaving@example.com")
        await person.sign_in(browser)
        assert (await subscribe(browser, localstripe)).status_code == 303
        page = await browser.get("/account/cancel")
        await browser.post("/account/cancel", data={"csrf": csrf_of(page.text)})
        form = await browser.get("/account/delete")
        done = await browser.post(
            "/account/delete", data={"csrf": csrf_of(form.text), "confirm": person.email}
        )
        assert done.status_code == 303
        await person.services.events.writer.flush()
        _funnel, new, cancelled = await figures(app)
    assert (new, cancelled) == (1, 1)
