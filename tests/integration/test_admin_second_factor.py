"""Staff hardening: a TOTP second factor (required when the publisher says so) and argon2id
rehashing of old scrypt hashes at the next sign-in."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pyotp
from sqlalchemy import select, update

from meterwall.storage.schema import staff_users
from tests.admin_support import STAFF_EMAIL, STAFF_PASSWORD, add_staff, csrf_of, running
from tests.unit.admin.test_passwords import scrypt_hash


async def _login(client: httpx.AsyncClient, code: str = "") -> httpx.Response:
    page = await client.get("/admin/login")
    return await client.post(
        "/admin/login",
        data={
            "csrf": csrf_of(page.text),
            "email": STAFF_EMAIL,
            "password": STAFF_PASSWORD,
            "code": code,
        },
    )


async def _enrol(client: httpx.AsyncClient, clock: Any) -> str:
    page = await client.get("/admin/second-factor")
    assert page.status_code == 200
    found = re.search(r'<code id="secret">([A-Z2-7]{32})</code>', page.text)
    assert found is not None
    secret = found[1]
    assert "otpauth://totp/" in page.text and f"secret={secret}" in page.text
    wrong = await client.post(
        "/admin/second-factor",
        data={"csrf": csrf_of(page.text), "secret": secret, "code": "000000"},
    )
    assert wrong.status_code == 400
    done = await client.post(
        "/admin/second-factor",
        data={
            "csrf": csrf_of(page.text),
            "secret": secret,
            "code": pyotp.TOTP(secret).at(clock.now),
        },
    )
    assert done.status_code == 303
    return secret


async def test_required_second_factor_is_enrolled_then_asked_for(
    app_factory: Callable[..., Any], clock: Any
) -> None:
    app = await app_factory(admin={"require_second_factor": True})
    await add_staff(app)
    async with running(app) as client:
        assert (await _login(client)).status_code == 303
        # Until enrolled, every page leads to the enrolment page and actions are refused.
        policy = await client.get("/admin/policy")
        assert policy.status_code == 303
        assert policy.headers["location"] == "/admin/second-factor"
        secret = await _enrol(client, clock)
        assert (await client.get("/admin/policy")).status_code == 200

    async with running(app) as fresh:
        without = await _login(fresh)
        assert without.status_code == 400
        assert "Wrong email, password or one-time code." in without.text
        current = pyotp.TOTP(secret).at(clock.now)
        wrong = await _login(fresh, "123456" if current != "123456" else "654321")
        assert wrong.status_code == 400
        signed_in = await _login(fresh, pyotp.TOTP(secret).at(clock.now))
        assert signed_in.status_code == 303
        assert (await fresh.get("/admin/policy")).status_code == 200


async def test_without_the_setting_the_second_factor_is_optional(
    app_factory: Callable[..., Any], clock: Any
) -> None:
    app = await app_factory()
    await add_staff(app)
    async with running(app) as client:
        assert (await _login(client)).status_code == 303
        assert (await client.get("/admin/policy")).status_code == 200
        secret = await _enrol(client, clock)
    async with running(app) as fresh:
        assert (await _login(fresh)).status_code == 400
        assert (await _login(fresh, pyotp.TOTP(secret).at(clock.now))).status_code == 303


async def test_an_old_scrypt_hash_becomes_argon2id_at_sign_in(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory()
    await add_staff(app)
    engine = app.state.services.engine
    async with engine.begin() as conn:
        await conn.execute(update(staff_users).values(password_hash=scrypt_hash(STAFF_PASSWORD)))
    async with running(app) as client:
        assert (await _login(client)).status_code == 303
    async with engine.connect() as conn:
        stored = (await conn.execute(select(staff_users.c.password_hash))).scalar_one()
    assert stored.startswith("$argon2id$")
    async with running(app) as again:
        assert (await _login(again)).status_code == 303
