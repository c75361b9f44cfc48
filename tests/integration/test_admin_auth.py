"""Only staff reach the dashboard; cross-site and forged requests are refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.admin_support import STAFF_EMAIL, STAFF_PASSWORD, add_staff, csrf_of, running, sign_in

PAGES = [
    "/admin/funnel",
    "/admin/funnel.csv",
    "/admin/articles",
    "/admin/articles.csv",
    "/admin/revenue",
    "/admin/revenue.csv",
    "/admin/policy",
    "/admin/experiments",
    "/admin/simulator",
]
ACTIONS = [
    "/admin/policy",
    "/admin/policy/restore",
    "/admin/experiments",
    "/admin/experiments/some-id/stop",
    "/admin/simulator",
    "/admin/logout",
]


async def test_pages_redirect_anonymous_readers_to_sign_in(app_factory: Callable[..., Any]) -> None:
    app = await app_factory()
    async with running(app) as client:
        for path in PAGES:
            response = await client.get(path + "?grain=week")
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/admin/login?next=%2Fadmin%2F")
        assert (await client.get("/admin/")).headers["location"] == "/admin/funnel"


async def test_actions_are_forbidden_without_a_session(app_factory: Callable[..., Any]) -> None:
    app = await app_factory()
    async with running(app) as client:
        for path in ACTIONS:
            response = await client.post(path, data={"csrf": "x"})
            assert response.status_code == 403, path
            assert "sign in" in response.text


async def test_a_reader_cookie_is_not_a_staff_session(app_factory: Callable[..., Any]) -> None:
    app = await app_factory()
    async with running(app) as client:
        await client.get("/articles/story-1")
        assert client.cookies.get("mw_reader")
        assert (await client.get("/admin/funnel")).status_code == 303
        client.cookies.set("mw_staff", client.cookies["mw_reader"], path="/admin")
        assert (await client.get("/admin/funnel")).status_code == 303
        client.cookies.set("mw_staff", "forged.value", path="/admin")
        assert (await client.get("/admin/funnel")).status_code == 303


async def test_signing_in_sets_a_strict_admin_only_cookie(app_factory: Callable[..., Any]) -> None:
    app = await app_factory()
    await add_staff(app)
    async with running(app) as client:
        page = await client.get("/admin/login?next=/admin/revenue")
        response = await client.post(
            "/admin/login",
            data={
                "csrf": csrf_of(page.text),
                "email": " Editor@Example.com ",
                "password": STAFF_PASSWORD,
                "next": "/admin/revenue",
            },
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/admin/revenue"
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("mw_staff=")
        )
        assert "HttpOnly" in cookie and "Path=/admin" in cookie
        assert "samesite=strict" in cookie.lower()
        overview = await client.get("/admin/funnel")
        assert overview.status_code == 200
        assert STAFF_EMAIL in overview.text
        assert overview.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize(
    "next_path", ["https://evil.example/", "//evil.example", "/articles/story-1", "/admin/login"]
)
async def test_after_sign_in_only_dashboard_paths_are_followed(
    app_factory: Callable[..., Any], next_path: str
) -> None:
    app = await app_factory()
    await add_staff(app)
    async with running(app) as client:
        page = await client.get("/admin/login")
        response = await client.post(
            "/admin/login",
            data={
                "csrf": csrf_of(page.text),
                "email": STAFF_EMAIL,
                "password": STAFF_PASSWORD,
                "next": next_path,
            },
        )
        assert response.headers["location"] == "/admin/funnel"


async def test_wrong_credentials_and_a_forged_sign_in_form(app_factory: Callable[..., Any]) -> None:
    app = await app_factory()
    await add_staff(app)
    async with running(app) as client:
        page = await client.get("/admin/login")
        token = csrf_of(page.text)
        wrong = await client.post(
            "/admin/login", data={"csrf": token, "email": STAFF_EMAIL, "password": "nope"}
        )
        assert wrong.status_code == 400
        assert "Wrong email, password or one-time code." in wrong.text
        unknown = await client.post(
            "/admin/login",
            data={"csrf": token, "email": "who@example.com", "password": STAFF_PASSWORD},
        )
        assert "Wrong email, password or one-time code." in unknown.text
        forged = await client.post(
            "/admin/login",
            data={"csrf": "forged", "email": STAFF_EMAIL, "password": STAFF_PASSWORD},
        )
        assert forged.status_code == 400
        assert "expired" in forged.text
        assert "mw_staff=" not in " ".join(forged.headers.get_list("set-cookie"))


async def test_sign_in_is_rate_limited(app_factory: Callable[..., Any]) -> None:
    app = await app_factory(admin={"login_failures_allowed": 3})
    await add_staff(app)
    async with running(app) as client:
        token = csrf_of((await client.get("/admin/login")).text)
        for _ in range(3):
            response = await client.post(
                "/admin/login", data={"csrf": token, "email": STAFF_EMAIL, "password": "guess!"}
            )
            assert response.status_code == 400
        blocked = await client.post(
            "/admin/login",
            data={"csrf": token, "email": STAFF_EMAIL, "password": STAFF_PASSWORD},
        )
        assert blocked.status_code == 429
        assert "Too many failed sign-ins" in blocked.text


async def test_the_rate_limit_counts_per_address_too(app_factory: Callable[..., Any]) -> None:
    app = await app_factory(admin={"login_failures_allowed": 3})
    await add_staff(app)
    async with running(app) as client:
        token = csrf_of((await client.get("/admin/login")).text)
        for n in range(3):
            await client.post(
                "/admin/login",
                data={"csrf": token, "email": f"guess{n}@example.com", "password": "guess!"},
            )
        blocked = await client.post(
            "/admin/login",
            data={"csrf": token, "email": STAFF_EMAIL, "password": STAFF_PASSWORD},
        )
        assert blocked.status_code == 429


async def test_the_rate_limit_expires(app_factory: Callable[..., Any], clock: Any) -> None:
    app = await app_factory(admin={"login_failures_allowed": 2})
    await add_staff(app)
    async with running(app) as client:
        token = csrf_of((await client.get("/admin/login")).text)
        for _ in range(2):
            await client.post(
                "/admin/login", data={"csrf": token, "email": STAFF_EMAIL, "password": "guess!"}
            )
        clock.now += timedelta(minutes=16)
        ok = await client.post(
            "/admin/login",
            data={"csrf": token, "email": STAFF_EMAIL, "password": STAFF_PASSWORD},
        )
        assert ok.status_code == 303


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site", "origin": "http://testserver"},
    ],
)
async def test_cross_site_posts_are_refused_even_with_a_session(
    app_factory: Callable[..., Any], headers: dict[str, str]
) -> None:
    app = await app_factory()
    await add_staff(app)
    async with running(app) as client:
        csrf = await sign_in(client)
        before = await app.state.services.dashboard.versions.newest_id()
        response = await client.post("/admin/logout", data={"csrf": csrf}, headers=headers)
        assert response.status_code == 403
        assert "only be sent from this site" in response.text
        response = await client.post(
            "/admin/experiments",
            data={"csrf": csrf, "name": "x", "parameter": "meter_limit", "value_b": "1"},
            headers=headers,
        )
        assert response.status_code == 403
        assert await app.state.services.dashboard.experiments.all() == []
        assert await app.state.services.dashboard.versions.newest_id() == before
        login = await client.post("/admin/login", data={}, headers=headers)
        assert login.status_code == 403
        assert (await client.get("/admin/funnel")).status_code == 200


async def test_same_origin_posts_pass(app_factory: Callable[..., Any]) -> None:
    app = await app_factory()
    await add_staff(app)
    async with running(app) as client:
        csrf = await sign_in(client)
        response = await client.post(
            "/admin/logout",
            data={"csrf": csrf},
            headers={"origin": "http://testserver", "sec-fetch-site": "same-origin"},
        )
        assert response.status_code == 303
        assert (await client.get("/admin/funnel")).status_code == 303


async def test_a_post_without_the_csrf_token_is_refused(app_factory: Callable[..., Any]) -> None:
    app = await app_factory()
    await add_staff(app)
    await add_staff(app, "other@example.com")
    async with (
        running(app) as client,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as other,
    ):
        csrf = await sign_in(client)
        others = await sign_in(other, "other@example.com")
        assert others != csrf
        for token in ("", "forged", others):
            response = await client.post("/admin/logout", data={"csrf": token})
            assert response.status_code == 403
            assert "expired" in response.text
        assert (await client.get("/admin/funnel")).status_code == 200


async def test_sessions_expire(app_factory: Callable[..., Any], clock: Any) -> None:
    app = await app_factory(admin={"session_hours": 2})
    await add_staff(app)
    async with running(app) as client:
        await sign_in(client)
        clock.now += timedelta(hours=1)
        assert (await client.get("/admin/funnel")).status_code == 200
        clock.now += timedelta(hours=1, seconds=1)
        assert (await client.get("/admin/funnel")).status_code == 303


async def test_a_changed_password_ends_sessions(app_factory: Callable[..., Any]) -> None:
    app = await app_factory()
    await add_staff(app)
    async with running(app) as client:
        await sign_in(client)
        assert await app.state.services.dashboard.staff.set_password(
            STAFF_EMAIL, "another long password"
        )
        assert (await client.get("/admin/funnel")).status_code == 303


async def test_oversized_forms_are_refused(app_factory: Callable[..., Any]) -> None:
    app = await app_factory()
    await add_staff(app)
    async with running(app) as client:
        csrf = await sign_in(client)
        response = await client.post("/admin/policy", data={"csrf": csrf, "note": "x" * 1_100_000})
        assert response.status_code == 413
        huge = await client.post("/admin/login", data={"email": "x" * 20_000})
        assert huge.status_code == 413
