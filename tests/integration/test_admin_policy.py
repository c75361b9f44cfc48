"""Editing the policy, copy and plans in the dashboard changes the running site, with a log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from meterwall.access.live import PolicyDocument
from meterwall.app import create_app
from meterwall.billing.emulator import LocalStripe
from tests.accounts_support import (
    SECRET,
    localstripe_fixture,  # noqa: F401 - the emulator fixture
    new_client,
    stripe_settings,
    subscribe,
)
from tests.accounts_support import sign_in as reader_sign_in
from tests.admin_support import add_staff, policy_form, running, sign_in


async def current(app: Any) -> PolicyDocument:
    dashboard = app.state.services.dashboard
    newest = await dashboard.versions.newest_id()
    if newest == 0:
        return app.state.services.policies.fallback  # type: ignore[no-any-return]
    version = await dashboard.versions.get(newest)
    return version.document  # type: ignore[no-any-return]


async def save(client: httpx.AsyncClient, app: Any, csrf: str, **changes: str) -> httpx.Response:
    fields = policy_form(await current(app), **changes)
    return await client.post("/admin/policy", data={"csrf": csrf, **fields})


async def test_a_saved_policy_applies_at_once_without_a_restart(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(admin={"policy_refresh_seconds": 0})
    await add_staff(app)
    async with (
        running(app) as staff,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as reader,
    ):
        csrf = await sign_in(staff)
        for n in (1, 2):
            page = await reader.get(f"/articles/story-{n}")
            assert f"{n} of 5 stories this month" in page.text
        saved = await save(
            staff,
            app,
            csrf,
            **{
                "policy.anonymous_limit": "2",
                "copy.gate_body": "Support local journalism.",
                "offer-0-price": "9",
                "note": "Tighter meter for the election",
            },
        )
        assert saved.status_code == 303
        version = await app.state.services.dashboard.versions.newest_id()
        assert saved.headers["location"] == f"/admin/policy?saved={version}"
        gate = await reader.get("/articles/story-3")
        assert "read 2 of 2 free articles." in gate.text
        assert "Support local journalism." in gate.text
        assert "Unlimited digital access $9/month." in gate.text
        assert "SECRET-3-2" not in gate.text
        assert "$9" in (await reader.get("/subscribe")).text
        assert "<strong>2 of 2</strong> free articles" in (await reader.get("/account/meter")).text
        log = (await staff.get("/admin/policy")).text
        saved_page = await staff.get(f"/admin/policy?saved={version}")
        assert f"Saved as version {version}." in saved_page.text
        assert "Tighter meter for the election" in log
        assert "policy.anonymous_limit: 5 → 2" in log
        assert "offers[digital-monthly].price: 11 → 9" in log
        assert "editor@example.com" in log


async def test_another_worker_picks_up_the_new_version(
    app_factory: Callable[..., Any], clock: Any
) -> None:
    app = await app_factory(admin={"policy_refresh_seconds": 0})
    other = create_app(app.state.services.settings)
    object.__setattr__(other.state.services, "clock", clock)
    await add_staff(app)
    async with running(app) as staff, running(other) as reader:
        csrf = await sign_in(staff)
        assert "1 of 5 stories" in (await reader.get("/articles/story-1")).text
        await save(staff, app, csrf, **{"policy.anonymous_limit": "1"})
        gate = await reader.get("/articles/story-2")
        assert "read 1 of 1 free articles." in gate.text
    await other.state.services.engine.dispose()


async def test_versions_can_be_restored(app_factory: Callable[..., Any]) -> None:
    app = await app_factory(admin={"policy_refresh_seconds": 0})
    await add_staff(app)
    async with running(app) as staff:
        csrf = await sign_in(staff)
        versions = app.state.services.dashboard.versions
        await save(staff, app, csrf, **{"policy.anonymous_limit": "2"})
        first = await versions.newest_id()
        await save(staff, app, csrf, **{"policy.anonymous_limit": "7"})
        restored = await staff.post(
            "/admin/policy/restore", data={"csrf": csrf, "version": str(first)}
        )
        assert restored.headers["location"] == f"/admin/policy?saved={first + 2}"
        assert (await app.state.services.policies.base()).policy.anonymous_limit == 2
        log = (await staff.get("/admin/policy")).text
        assert f"Restored version {first}" in log
        assert "policy.anonymous_limit: 7 → 2" in log
        missing = await staff.post(
            "/admin/policy/restore", data={"csrf": csrf, "version": str(first + 99)}
        )
        assert missing.status_code == 404
        assert "no such version" in missing.text
        junk = await staff.post("/admin/policy/restore", data={"csrf": csrf, "version": "1e9"})
        assert junk.status_code == 404


async def test_bad_input_is_explained_and_nothing_is_saved(app_factory: Callable[..., Any]) -> None:
    app = await app_factory(admin={"policy_refresh_seconds": 0})
    await add_staff(app)
    async with running(app) as staff:
        csrf = await sign_in(staff)
        response = await save(
            staff,
            app,
            csrf,
            **{
                "policy.anonymous_limit": "lots",
                "policy.timezone": "Nowhere/Special",
                "offer-0-currency": "$",
            },
        )
        assert response.status_code == 400
        assert "Please correct the following" in response.text
        assert "unknown time zone" in response.text
        assert "currency must be a three-letter ISO code" in response.text
        assert 'value="lots"' in response.text
        assert await app.state.services.dashboard.versions.newest_id() == 0
        assert (await app.state.services.policies.base()).policy.anonymous_limit == 5


async def test_a_new_price_is_what_checkout_charges(
    app_factory: Callable[..., Any], localstripe: LocalStripe
) -> None:
    app = await app_factory(
        mail={"backend": "dev"},
        stripe=stripe_settings(localstripe),
        admin={"policy_refresh_seconds": 0},
    )
    await add_staff(app)
    async with running(app) as staff, new_client(app) as reader:
        csrf = await sign_in(staff)
        await save(staff, app, csrf, **{"offer-0-price": "9", "offer-0-name": "Harbor pass"})
        await reader_sign_in(reader, app, "nine@example.com")
        assert "$9" in (await reader.get("/subscribe")).text
        done = await subscribe(reader, localstripe)
        assert done.headers["location"] == "/account?notice=subscribed"
        assert "Harbor pass" in (await reader.get("/account")).text
    account = await app.state.services.members.accounts.by_email("nine@example.com")
    async with httpx.AsyncClient(auth=(SECRET, ""), timeout=10) as stripe:
        listed = await stripe.get(
            f"{localstripe.api_base}/v1/invoices",
            params={"customer": account.stripe_customer_id},
        )
    assert [i["total"] for i in listed.json()["data"]] == [900]
