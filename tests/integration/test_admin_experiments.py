"""An experiment from the dashboard: sticky variants reach decide(), results, stop."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import httpx
from starlette.applications import Starlette

from meterwall.analytics.experiments import CONTROL, assign
from tests.admin_support import add_staff, running, sign_in


async def start(client: httpx.AsyncClient, csrf: str, **fields: str) -> httpx.Response:
    return await client.post("/admin/experiments", data={"csrf": csrf, **fields})


async def a_reader_reads(app: Starlette, stories: list[int]) -> tuple[str, list[str]]:
    """A new reader opens ``stories``; returns their reader id and each page's text."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        pages = [(await client.get(f"/articles/story-{n}")).text for n in stories]
        return client.cookies["mw_reader"].split(".")[0], pages


async def test_a_meter_limit_experiment(app_factory: Callable[..., Any]) -> None:
    app = await app_factory(admin={"policy_refresh_seconds": 0, "experiment_min_readers": 10})
    await add_staff(app)
    async with running(app) as staff:
        csrf = await sign_in(staff)
        response = await start(
            staff, csrf, name="One free story", parameter="meter_limit", value_b="1"
        )
        assert response.status_code == 303
        experiment_id = response.headers["location"].rsplit("/", 1)[1]
        assert experiment_id.startswith("one-free-story-")

        seen: dict[str, int] = {CONTROL: 0, "b": 0}
        for _ in range(24):
            reader_id, (first, second, again) = await a_reader_reads(app, [1, 2, 2])
            variant = assign(experiment_id, reader_id, [CONTROL, "b"])
            seen[variant] += 1
            if variant == "b":
                assert "1 of 1 stories this month" in first
                assert "read 1 of 1 free articles." in second
                assert "SECRET-2-1" not in second and "SECRET-2-1" not in again
            else:
                assert "2 of 5 stories this month" in second
                assert "SECRET-2-1" in again  # sticky: the re-read is still free
        assert seen[CONTROL] and seen["b"]

        # One reader of variant b registers and subscribes under their account.
        walled_reader = next(
            r
            for r in (f"reader-{n:04d}xxxxxxxxxxxxxx"[:22] for n in range(1_000))
            if assign(experiment_id, r, [CONTROL, "b"]) == "b"
        )
        events = app.state.services.events
        clock = app.state.services.clock
        events.record("page_view", reader_id=walled_reader, at=clock(), article_id="story-1")
        events.record("registration", reader_id="acct:x", at=clock(), alias_reader_id=walled_reader)
        events.record("subscribed", reader_id="acct:x", at=clock())
        await events.writer.flush()

        page = await staff.get(f"/admin/experiments/{experiment_id}")
        assert page.status_code == 200
        assert "No winner yet" in page.text
        assert "current policy (5)" in page.text
        download = await staff.get(f"/admin/experiments/{experiment_id}.csv")
        rows = {r["variant"]: r for r in csv.DictReader(io.StringIO(download.text[1:]))}
        assert int(rows[CONTROL]["readers"]) == seen[CONTROL]
        assert int(rows["b"]["readers"]) == seen["b"] + 1
        assert int(rows["b"]["readers_at_wall"]) == seen["b"]
        assert (int(rows["b"]["conversions"]), int(rows[CONTROL]["conversions"])) == (1, 0)
        assert float(rows["b"]["rate_low_95"]) < float(rows["b"]["rate"])

        clash = await start(staff, csrf, name="Another", parameter="lede_words", value_b="30")
        assert clash.status_code == 409
        assert "Another experiment is running" in clash.text

        stopped = await staff.post(f"/admin/experiments/{experiment_id}/stop", data={"csrf": csrf})
        assert stopped.status_code == 303
        for _ in range(6):
            _reader_id, (_first, second) = await a_reader_reads(app, [1, 2])
            assert "2 of 5 stories this month" in second
        listing = await staff.get("/admin/experiments")
        assert "stopped" in listing.text
        assert "Start an experiment" in listing.text


async def test_a_copy_experiment_changes_the_gate_for_its_variant(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(admin={"policy_refresh_seconds": 0}, policy={"anonymous_limit": 0})
    await add_staff(app)
    async with running(app) as staff:
        csrf = await sign_in(staff)
        response = await start(
            staff,
            csrf,
            name="Warmer ask",
            parameter="copy",
            copy_field="gate_body",
            value_b="Independent news needs you.",
        )
        experiment_id = response.headers["location"].rsplit("/", 1)[1]
        for _ in range(12):
            reader_id, (gate,) = await a_reader_reads(app, [1])
            variant = assign(experiment_id, reader_id, [CONTROL, "b"])
            assert ("Independent news needs you." in gate) == (variant == "b")
            assert ("Subscribe to continue." in gate) == (variant == CONTROL)


async def test_bad_experiments_are_explained(app_factory: Callable[..., Any]) -> None:
    app = await app_factory()
    await add_staff(app)
    async with running(app) as staff:
        csrf = await sign_in(staff)
        response = await start(
            staff, csrf, name="", parameter="meter_limit", value_b="many", value_c="-1"
        )
        assert response.status_code == 400
        assert "Give the experiment a name." in response.text
        assert "Variant B: a meter limit must be a whole number" in response.text
        assert "Variant C" in response.text
        assert await app.state.services.dashboard.experiments.all() == []
        assert (await staff.get("/admin/experiments/nope")).status_code == 404
        assert (await staff.get("/admin/experiments/nope.csv")).status_code == 404
        stop = await staff.post("/admin/experiments/nope/stop", data={"csrf": csrf})
        assert stop.status_code == 404
