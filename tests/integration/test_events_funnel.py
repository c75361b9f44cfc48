"""A reader's whole journey fills the funnel: wall, sign-up, checkout, subscription, cancel."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette

from meterwall.billing.emulator import LocalStripe
from tests.accounts_support import (
    csrf_of,
    localstripe_fixture,  # noqa: F401 - the emulator fixture
    new_client,
    stripe_settings,
    subscribe,
)
from tests.accounts_support import sign_in as reader_sign_in
from tests.admin_support import add_staff, sign_in

pytestmark = pytest.mark.usefixtures("localstripe")


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


async def test_the_journey_of_one_reader(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app: Starlette = await app_factory(
        mail={"backend": "dev"},
        stripe=stripe_settings(localstripe),
        policy={"anonymous_limit": 1, "registered_limit": 1},
    )
    await add_staff(app)
    async with (
        app.router.lifespan_context(app),
        new_client(app) as reader,
        new_client(app) as staff,
    ):
        await reader.get("/articles/story-1", headers={"referer": "https://www.bing.com/"})
        gate = await reader.get("/articles/story-2")
        assert 'class="gate"' in gate.text
        await reader_sign_in(reader, app, "journey@example.com")
        done = await subscribe(reader, localstripe)
        assert done.headers["location"] == "/account?notice=subscribed"
        cancel_page = await reader.get("/account/cancel")
        cancelled = await reader.post("/account/cancel", data={"csrf": csrf_of(cancel_page.text)})
        assert cancelled.status_code == 303
        # Signing in again later is not a second registration.
        async with new_client(app) as laptop:
            await reader_sign_in(laptop, app, "journey@example.com")
        await app.state.services.events.writer.flush()

        mine = (await reader.get("/account/meter/export.json")).json()
        assert mine["account"]["email"] == "journey@example.com"
        assert len(mine["sessions"]) == 2
        assert [s["this_browser"] for s in mine["sessions"]].count(True) == 1
        assert [(s["status"], s["cancel_at_period_end"]) for s in mine["subscriptions"]] == [
            ("active", True)
        ]
        kinds = {e["kind"] for e in mine["events"]["items"]}
        assert {"registration", "checkout_started", "subscribed", "cancelled"} <= kinds
        assert "paywall_impression" in kinds  # read before signing up, linked by the alias
        # This browser's id, the account's, and the anonymous ids of both browsers
        # before they signed in.
        assert len(mine["events"]["pseudonyms"]) == 4
        assert len(mine["linked_reader_ids"]) == 2

        await sign_in(staff)
        funnel = {r["period_start"]: r for r in rows((await staff.get("/admin/funnel.csv")).text)}
        total = funnel["total"]
        assert [
            int(total[k])
            for k in ("visitors", "metered", "wall", "registered", "checkout", "subscribed")
        ] == [1, 1, 1, 1, 1, 1]
        articles = {r["article_id"]: r for r in rows((await staff.get("/admin/articles.csv")).text)}
        assert articles["story-2"]["subscriptions"] == "1"
        assert articles["story-1"]["subscriptions"] == "0"
        revenue = rows((await staff.get("/admin/revenue.csv")).text)
        assert sum(int(r["new"]) for r in revenue) == 1
        assert sum(int(r["cancelled"]) for r in revenue) == 1
        page = await staff.get("/admin/revenue")
        assert "<dt>Cancelling at period end</dt><dd>1</dd>" in page.text
        assert "USD 11.00" in page.text
