"""The funnel, articles and revenue pages against a small scenario worked out by hand."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from starlette.applications import Starlette

from meterwall.storage.schema import accounts, subscriptions
from tests.admin_support import add_staff, running, sign_in

RANGE = "grain=day&from=2026-11-10&to=2026-11-11"
OFFERS = [
    {"id": "monthly", "name": "Monthly", "price": "11"},
    {"id": "yearly", "name": "Yearly", "price": "120", "interval": "year"},
]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


async def seed(app: Starlette) -> None:
    """The scenario.

    Nov 10: anon1 reads story-1 and story-2 (metered, from Google); anon2 reads story-1
    (metered) and hits the wall at story-3; anon3 hits the wall at story-3 twice.  anon2
    registers as B, starts checkout and subscribes.
    Nov 11: anon1 hits the wall at story-4; anon4 reads story-1; anon3 registers as C and
    starts checkout; D subscribes without meeting the wall (from story-2); E cancels.
    Subscriptions now: B monthly, D yearly, F monthly (cancelling at period end), E ended.
    """
    events = app.state.services.events
    script: list[tuple[str, str, datetime, dict[str, str]]] = [
        ("page_view", "anon1", at(10, 9), {"article_id": "story-1"}),
        ("meter_notice", "anon1", at(10, 9), {"article_id": "story-1"}),
        ("page_view", "anon1", at(10, 9, 5), {"article_id": "story-2"}),
        ("meter_notice", "anon1", at(10, 9, 5), {"article_id": "story-2"}),
        ("page_view", "anon2", at(10, 10), {"article_id": "story-1"}),
        ("meter_notice", "anon2", at(10, 10), {"article_id": "story-1"}),
        ("page_view", "anon2", at(10, 10, 20), {"article_id": "story-3"}),
        ("paywall_impression", "anon2", at(10, 10, 20), {"article_id": "story-3"}),
        ("page_view", "anon3", at(10, 11), {"article_id": "story-3"}),
        ("paywall_impression", "anon3", at(10, 11), {"article_id": "story-3"}),
        ("page_view", "anon3", at(10, 11, 1), {"article_id": "story-3"}),
        ("paywall_impression", "anon3", at(10, 11, 1), {"article_id": "story-3"}),
        ("registration", "acct:B", at(10, 10, 30), {"alias_reader_id": "anon2"}),
        ("checkout_started", "acct:B", at(10, 10, 40), {}),
        ("subscribed", "acct:B", at(10, 10, 45), {}),
        ("page_view", "anon1", at(11, 9), {"article_id": "story-4"}),
        ("paywall_impression", "anon1", at(11, 9), {"article_id": "story-4"}),
        ("page_view", "anon4", at(11, 10), {"article_id": "story-1"}),
        ("meter_notice", "anon4", at(11, 10), {"article_id": "story-1"}),
        ("registration", "acct:C", at(11, 12), {"alias_reader_id": "anon3"}),
        ("checkout_started", "acct:C", at(11, 12, 5), {}),
        ("subscribed", "acct:D", at(11, 13), {"article_id": "story-2"}),
        ("cancelled", "acct:E", at(11, 14), {}),
        ("page_view", "anon9", at(9, 23, 59), {"article_id": "story-5"}),
    ]
    for kind, reader, when, extra in script:
        referer = "https://www.google.com/" if reader == "anon1" else None
        events.record(kind, reader_id=reader, at=when, referer=referer, **extra)
    await events.writer.flush()
    engine = app.state.services.engine
    async with engine.begin() as conn:
        for name in "BDEF":
            await conn.execute(
                insert(accounts).values(
                    id=name, email=f"{name.lower()}@example.com", created_at=at(1, 0)
                )
            )
        for name, offer, status, cancelling in (
            ("B", "monthly", "active", False),
            ("D", "yearly", "active", False),
            ("F", "monthly", "active", True),
            ("E", "monthly", "canceled", False),
        ):
            await conn.execute(
                insert(subscriptions).values(
                    id=f"sub_{name}",
                    account_id=name,
                    customer_id=f"cus_{name}",
                    offer_id=offer,
                    status=status,
                    cancel_at_period_end=cancelling,
                    updated_at=at(11, 0),
                )
            )


def table(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


async def scenario_app(app_factory: Callable[..., Any]) -> Starlette:
    app: Starlette = await app_factory(offers=OFFERS)
    await add_staff(app)
    return app


async def test_the_funnel_matches_the_hand_count(app_factory: Callable[..., Any]) -> None:
    app = await scenario_app(app_factory)
    async with running(app) as client:
        await seed(app)
        await sign_in(client)
        download = await client.get(f"/admin/funnel.csv?{RANGE}")
        assert download.headers["content-type"].startswith("text/csv")
        assert "attachment" in download.headers["content-disposition"]
        rows = {r["period_start"]: r for r in table(download.text)}
        stages = ("visitors", "metered", "wall", "registered", "checkout", "subscribed")
        assert [int(rows["2026-11-10"][s]) for s in stages] == [3, 3, 2, 1, 1, 1]
        assert [int(rows["2026-11-11"][s]) for s in stages] == [2, 2, 1, 1, 1, 1]
        # Over both days: anon1..anon4 visited; anon2 and anon3 became B and C.
        assert [int(rows["total"][s]) for s in stages] == [4, 4, 3, 2, 2, 2]
        assert float(rows["total"]["subscribed_per_visitor"]) == 0.5
        page = await client.get(f"/admin/funnel?{RANGE}")
        assert page.status_code == 200
        assert "<svg" in page.text and "<desc" in page.text
        stages_shown = re.findall(
            r'<span class="stage">([^<]+)</span> <strong class="count">(\d+)</strong>\s*'
            r'(?:<span class="rate">([\d.]+%) of the stage before</span>)?',
            page.text,
        )
        assert stages_shown == [
            ("Visitors", "4", ""),
            ("Metered readers", "4", "100.0%"),
            ("Hit the wall", "3", "75.0%"),
            ("Registered", "2", "66.7%"),
            ("Started checkout", "2", "100.0%"),
            ("Subscribed", "2", "100.0%"),
        ]
        assert "<strong>50.00%</strong> of visitors subscribed" in page.text


async def test_the_articles_report(app_factory: Callable[..., Any]) -> None:
    app = await scenario_app(app_factory)
    async with running(app) as client:
        await seed(app)
        await sign_in(client)
        rows = {
            r["article_id"]: r
            for r in table((await client.get(f"/admin/articles.csv?{RANGE}")).text)
        }
        assert set(rows) == {"story-1", "story-2", "story-3", "story-4"}
        numbers = ("views", "readers", "wall_impressions", "wall_readers", "subscriptions")
        assert [int(rows["story-1"][n]) for n in numbers] == [3, 3, 0, 0, 0]
        # D subscribed without meeting the wall; the subscription names story-2.
        assert [int(rows["story-2"][n]) for n in numbers] == [1, 1, 0, 0, 1]
        # B (anon2) last hit the wall at story-3 before subscribing.
        assert [int(rows["story-3"][n]) for n in numbers] == [3, 2, 3, 2, 1]
        assert float(rows["story-3"]["conversion"]) == 0.5
        assert [int(rows["story-4"][n]) for n in numbers] == [1, 1, 1, 1, 0]
        assert rows["story-3"]["headline"] == "Headline of story 3"
        ordered = table((await client.get(f"/admin/articles.csv?{RANGE}&sort=views&dir=asc")).text)
        assert [int(r["views"]) for r in ordered] == [1, 1, 3, 3]
        page = await client.get(f"/admin/articles?{RANGE}&sort=subscriptions")
        assert page.status_code == 200
        assert 'aria-sort="descending"' in page.text
        assert page.text.index("Headline of story 2") < page.text.index("Headline of story 1")


async def test_the_revenue_report(app_factory: Callable[..., Any]) -> None:
    app = await scenario_app(app_factory)
    async with running(app) as client:
        await seed(app)
        await sign_in(client)
        rows = table((await client.get(f"/admin/revenue.csv?{RANGE}")).text)
        # Today (Nov 15) B and D stay (F is cancelling); walking back: Nov 11 +1 -1, Nov 10 +1.
        assert [
            (
                r["period_start"],
                r["subscribers_at_start"],
                r["new"],
                r["cancelled"],
                r["subscribers_at_end"],
            )
            for r in rows
        ] == [("2026-11-10", "1", "1", "0", "2"), ("2026-11-11", "2", "1", "1", "2")]
        assert float(rows[0]["churn"]) == 0
        assert float(rows[1]["churn"]) == 0.5
        page = await client.get(f"/admin/revenue?{RANGE}")
        text = page.text
        # MRR: B 11 + F 11 + D 120/12 = 32.
        assert "USD 32.00" in text
        assert "<dt>Subscribers</dt><dd>3</dd>" in text
        assert "<dt>Cancelling at period end</dt><dd>1</dd>" in text


async def test_bad_ranges_get_a_clear_answer(app_factory: Callable[..., Any]) -> None:
    app = await scenario_app(app_factory)
    async with running(app) as client:
        await sign_in(client)
        for query in (
            "from=yesterday",
            "grain=fortnight",
            "from=2026-11-12&to=2026-11-01",
            "from=2001-01-01&to=2026-01-01",
            "from=2026-13-45",
        ):
            page = await client.get(f"/admin/funnel?{query}")
            assert page.status_code == 200, query
            assert 'class="notice error"' in page.text, query
            download = await client.get(f"/admin/funnel.csv?{query}")
            assert download.status_code == 400, query
        for path in ("/admin/articles", "/admin/revenue"):
            assert (await client.get(f"{path}?from=%00&sort=%27")).status_code == 200
