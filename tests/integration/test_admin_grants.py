"""Complimentary access on the dashboard: given, listed with its note, revoked at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.accounts_support import new_client
from tests.accounts_support import sign_in as reader_sign_in
from tests.admin_support import add_staff, csrf_of, running, sign_in
from tests.conftest import standard_articles
from tests.leaks import assert_full_text, assert_no_leak

PREMIUM = standard_articles()[9]
PREMIUM_PATH = f"/articles/{PREMIUM.slug}"


async def test_staff_give_and_revoke_access_and_the_reader_notices(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(mail={"backend": "dev"})
    await add_staff(app)
    async with running(app) as staff, new_client(app) as reader:
        await sign_in(staff)
        page = await staff.get("/admin/grants")
        assert page.status_code == 200
        assert "No complimentary access has been given yet." in page.text
        given = await staff.post(
            "/admin/grants",
            data={"csrf": csrf_of(page.text), "email": "Guest@Example.com", "note": "columnist"},
        )
        assert given.status_code == 303
        listed = (await staff.get("/admin/grants")).text
        assert "guest@example.com" in listed
        assert "columnist" in listed
        assert "until revoked" in listed

        await reader_sign_in(reader, app, "guest@example.com")
        assert_full_text(await reader.get(PREMIUM_PATH), PREMIUM)

        grant_id = (await app.state.services.billing.store.grants())[0].id
        revoked = await staff.post(
            "/admin/grants/revoke", data={"csrf": csrf_of(listed), "grant": grant_id}
        )
        assert revoked.status_code == 303
        assert "ended" in (await staff.get("/admin/grants")).text
        assert_no_leak(await reader.get(PREMIUM_PATH), PREMIUM)


async def test_bad_grant_input_is_explained(app_factory: Callable[..., Any]) -> None:
    app = await app_factory()
    await add_staff(app)
    async with running(app) as staff:
        await sign_in(staff)
        csrf = csrf_of((await staff.get("/admin/grants")).text)
        bad = await staff.post(
            "/admin/grants", data={"csrf": csrf, "email": "not-an-email", "days": "-3"}
        )
        assert bad.status_code == 400
        assert "Days is a whole number" in bad.text
        missing = await staff.post("/admin/grants/revoke", data={"csrf": csrf, "grant": "nope"})
        assert missing.status_code == 404
        forged = await staff.post(
            "/admin/grants", data={"csrf": "forged", "email": "a@example.com"}
        )
        assert forged.status_code == 403
        assert await app.state.services.billing.store.grants() == []


async def test_the_grants_page_needs_a_staff_sign_in(app_factory: Callable[..., Any]) -> None:
    app = await app_factory()
    async with running(app) as anyone:
        response = await anyone.get("/admin/grants")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/admin/login")
        posted = await anyone.post("/admin/grants", data={"email": "a@example.com"})
        assert posted.status_code == 403
