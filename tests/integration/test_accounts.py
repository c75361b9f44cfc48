"""Passwordless login, sessions and the registration wall, through the HTTP interface.

ATTACKS.md row 22 (mail-scanner pre-fetch, reuse, Host-header poisoning) and
row 23 (one account shared widely) are named tests here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.accounts_support import csrf_of, last_link, new_client, request_link, sign_in

EMAIL = "reader@example.com"


@pytest.fixture
async def accounts_app(app_factory: Callable[..., Any]) -> Starlette:
    return await app_factory(mail={"backend": "dev"}, public_url="https://news.example")


@pytest.fixture
async def browser(accounts_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with new_client(accounts_app) as client:
        yield client


def _path(link: str) -> str:
    return link.replace("https://news.example", "")


async def _confirm(client: httpx.AsyncClient, link: str) -> httpx.Response:
    page = await client.get(_path(link))
    token = link.rsplit("token=", 1)[1]
    csrf = csrf_of(page.text)
    return await client.post("/account/confirm", data={"csrf": csrf, "token": token})


async def test_login_link_signs_in_and_lands_on_the_account(
    accounts_app: Starlette, browser: httpx.AsyncClient
) -> None:
    await request_link(browser, EMAIL)
    done = await _confirm(browser, last_link(accounts_app, EMAIL))
    assert done.status_code == 303 and done.headers["location"] == "/account"
    page = await browser.get("/account")
    assert page.status_code == 200 and EMAIL in page.text


async def test_attack_22_scanner_prefetch_does_not_consume_the_link(
    accounts_app: Starlette, browser: httpx.AsyncClient
) -> None:
    await request_link(browser, EMAIL)
    link = last_link(accounts_app, EMAIL)
    async with new_client(accounts_app, ip="198.51.100.7") as scanner:
        for _ in range(3):
            fetched = await scanner.get(_path(link))
            assert fetched.status_code == 200 and "Sign in as" in fetched.text
        assert (await scanner.get("/account")).status_code == 303
    done = await _confirm(browser, link)
    assert done.status_code == 303
    assert EMAIL in (await browser.get("/account")).text


async def test_attack_22_a_used_link_cannot_be_used_again(
    accounts_app: Starlette, browser: httpx.AsyncClient
) -> None:
    await request_link(browser, EMAIL)
    link = last_link(accounts_app, EMAIL)
    token = link.rsplit("token=", 1)[1]
    async with new_client(accounts_app) as thief:
        thief_page = await thief.get(_path(link))
        page = await browser.get(_path(link))
        first = await browser.post(
            "/account/confirm", data={"csrf": csrf_of(page.text), "token": token}
        )
        assert first.status_code == 303
        again = await thief.get(_path(link))
        assert again.status_code == 400 and "expired" in again.text
        second = await thief.post(
            "/account/confirm", data={"csrf": csrf_of(thief_page.text), "token": token}
        )
        assert second.status_code == 400 and "expired" in second.text
        assert (await thief.get("/account")).status_code == 303


async def test_attack_22_a_link_expires_after_ten_minutes(
    accounts_app: Starlette, browser: httpx.AsyncClient, clock: Any
) -> None:
    await request_link(browser, EMAIL)
    link = last_link(accounts_app, EMAIL)
    page = await browser.get(_path(link))
    clock.now += timedelta(minutes=10, seconds=1)
    token = link.rsplit("token=", 1)[1]
    late = await browser.post("/account/confirm", data={"csrf": csrf_of(page.text), "token": token})
    assert late.status_code == 400 and "expired" in late.text
    assert (await browser.get("/account")).status_code == 303


async def test_attack_22_host_header_poisoning_has_no_effect(
    accounts_app: Starlette, browser: httpx.AsyncClient
) -> None:
    page = await browser.get("/account/login")
    sent = await browser.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": EMAIL, "next": "/account"},
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    )
    assert sent.status_code == 303
    link = last_link(accounts_app, EMAIL)
    assert link.startswith("https://news.example/account/confirm?token=")
    assert "evil" not in link


async def test_login_links_are_rate_limited_per_address(
    accounts_app: Starlette, browser: httpx.AsyncClient
) -> None:
    for _ in range(5):
        assert (await request_link(browser, EMAIL)).status_code == 303
    refused = await request_link(browser, EMAIL)
    assert refused.status_code == 429 and "Too many" in refused.text


async def test_login_links_are_rate_limited_per_ip(accounts_app: Starlette) -> None:
    async with new_client(accounts_app, ip="203.0.113.9") as client:
        for n in range(20):
            assert (await request_link(client, f"r{n}@example.com")).status_code == 303
        assert (await request_link(client, "another@example.com")).status_code == 429
    async with new_client(accounts_app, ip="203.0.113.10") as elsewhere:
        assert (await request_link(elsewhere, "another@example.com")).status_code == 303


async def test_a_bad_email_or_a_forged_form_gets_a_clear_answer(
    browser: httpx.AsyncClient,
) -> None:
    page = await browser.get("/account/login")
    bad = await browser.post(
        "/account/login", data={"csrf": csrf_of(page.text), "email": "not an address"}
    )
    assert bad.status_code == 400 and "valid email" in bad.text
    forged = await browser.post("/account/login", data={"csrf": "x", "email": EMAIL})
    assert forged.status_code == 400
    garbage = await browser.post(
        "/account/confirm", content=b"\xff\x00", headers={"content-type": "multipart/form-data"}
    )
    assert garbage.status_code == 400


async def test_next_path_cannot_redirect_off_site(
    accounts_app: Starlette, browser: httpx.AsyncClient
) -> None:
    done = await sign_in(browser, accounts_app, EMAIL, next_path="//evil.example/x")
    assert done.headers["location"] == "/account"


async def test_login_replaces_the_reader_id_so_a_planted_one_is_worthless(
    accounts_app: Starlette, browser: httpx.AsyncClient
) -> None:
    await browser.get("/articles/story-9")
    planted = browser.cookies.get("mw_reader")
    assert planted
    await sign_in(browser, accounts_app, EMAIL)
    assert browser.cookies.get("mw_reader") != planted
    async with new_client(accounts_app) as attacker:
        attacker.cookies.set("mw_reader", planted)
        assert (await attacker.get("/account")).status_code == 303


async def test_logout_ends_the_session_and_replaces_the_reader_id(
    accounts_app: Starlette, browser: httpx.AsyncClient
) -> None:
    await sign_in(browser, accounts_app, EMAIL)
    signed_in_cookie = browser.cookies.get("mw_reader")
    page = await browser.get("/account")
    out = await browser.post("/account/logout", data={"csrf": csrf_of(page.text)})
    assert out.status_code == 303
    assert browser.cookies.get("mw_reader") != signed_in_cookie
    assert (await browser.get("/account")).status_code == 303
    async with new_client(accounts_app) as replay:
        replay.cookies.set("mw_reader", signed_in_cookie)
        assert (await replay.get("/account")).status_code == 303


async def test_attack_23_sessions_are_listed_and_can_be_ended(
    accounts_app: Starlette, browser: httpx.AsyncClient
) -> None:
    await sign_in(browser, accounts_app, EMAIL)
    async with new_client(accounts_app) as friend:
        friend.headers["user-agent"] = "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"
        await sign_in(friend, accounts_app, EMAIL)
        page = await browser.get("/account")
        assert page.text.count('name="session"') == 2
        assert "Firefox on Linux" in page.text
        assert "(this browser)" in page.text
        sessions = accounts_app.state.services.members.sessions
        account = await accounts_app.state.services.members.accounts.by_email(EMAIL)
        listed = await sessions.of_account(account.id)
        other = next(s for s in listed if s.device == "Firefox on Linux")
        ended = await browser.post(
            "/account/sessions/end", data={"csrf": csrf_of(page.text), "session": other.id}
        )
        assert ended.status_code == 303
        assert (await friend.get("/account")).status_code == 303
        assert (await browser.get("/account")).status_code == 200


async def test_attack_23_a_session_cap_ends_the_least_recent_session(
    app_factory: Callable[..., Any], clock: Any
) -> None:
    app = await app_factory(mail={"backend": "dev"}, accounts={"max_sessions": 2})
    clients = [new_client(app) for _ in range(3)]
    try:
        for client in clients:
            await sign_in(client, app, EMAIL)
            clock.now += timedelta(minutes=1)
        statuses = [(await c.get("/account")).status_code for c in clients]
        assert statuses == [303, 200, 200]
    finally:
        for client in clients:
            await client.aclose()


async def test_registration_wall_then_registered_limit_with_merged_meter(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(
        mail={"backend": "dev"},
        policy={"regwall": True, "anonymous_limit": 2, "registered_limit": 4},
    )
    async with new_client(app) as client:
        for n in (1, 2):
            page = await client.get(f"/articles/story-{n}")
            assert f"SECRET-{n}-2" in page.text
        walled = await client.get("/articles/story-3")
        assert "SECRET-3-2" not in walled.text
        assert "Register for free" in walled.text
        assert "/account/login?next=/articles/story-3" in walled.text
        await sign_in(client, app, EMAIL, next_path="/articles/story-3")
        again = await client.get("/articles/story-1")
        assert "2 of 4 stories" in again.text
        for n in (3, 4):
            page = await client.get(f"/articles/story-{n}")
            assert f"SECRET-{n}-2" in page.text
            assert f"{n} of 4 stories" in page.text
        gated = await client.get("/articles/story-5")
        assert "SECRET-5-2" not in gated.text
        assert "Register for free" not in gated.text
        meter = await client.get("/account/meter")
        assert "4 of 4" in meter.text


async def test_signing_in_from_a_second_browser_shares_the_account_meter(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(mail={"backend": "dev"}, policy={"registered_limit": 3})
    async with new_client(app) as first, new_client(app) as second:
        await sign_in(first, app, EMAIL)
        await first.get("/articles/story-1")
        await second.get("/articles/story-1")
        await second.get("/articles/story-2")
        await sign_in(second, app, EMAIL)
        meter = await first.get("/account/meter")
        assert "2 of 3" in meter.text


async def test_dev_mailbox_lists_messages_only_with_the_dev_mailer(
    accounts_app: Starlette, browser: httpx.AsyncClient, app: Starlette
) -> None:
    await request_link(browser, EMAIL)
    box = await browser.get("/dev/mailbox")
    assert box.status_code == 200 and "/account/confirm?token=" in box.text
    async with new_client(app) as other:
        assert (await other.get("/dev/mailbox")).status_code == 404


async def test_attack_23_sign_out_everywhere_else_keeps_only_this_browser(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(mail={"backend": "dev"})
    clients = [new_client(app) for _ in range(3)]
    try:
        for client in clients:
            await sign_in(client, app, EMAIL)
        mine = clients[0]
        page = await mine.get("/account")
        assert page.text.count('action="/account/sessions/end"') == 3
        ended = await mine.post("/account/sessions/end-others", data={"csrf": csrf_of(page.text)})
        assert ended.headers["location"] == "/account?notice=others-ended"
        statuses = [(await c.get("/account")).status_code for c in clients]
        assert statuses == [200, 303, 303]
        after = await mine.get("/account")
        assert after.text.count('action="/account/sessions/end"') == 1
        assert "Sign out everywhere else" not in after.text
    finally:
        for client in clients:
            await client.aclose()


async def test_the_gate_offers_sign_in_and_returns_the_subscriber_to_the_story(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(mail={"backend": "dev"}, policy={"anonymous_limit": 0})
    services = app.state.services
    account = await services.members.accounts.get_or_create(EMAIL, services.clock())
    await services.billing.grant(account, None, "subscriber", services.clock())
    async with new_client(app) as browser:
        gated = await browser.get("/articles/story-3")
        assert "SECRET-3-2" not in gated.text
        assert "Already a subscriber?" in gated.text
        link = '<a href="/account/login?next=/articles/story-3">Sign in</a>'
        assert link in gated.text
        signed_in = await sign_in(browser, app, EMAIL, next_path="/articles/story-3")
        assert signed_in.headers["location"] == "/articles/story-3"
        assert "SECRET-3-2" in (await browser.get(signed_in.headers["location"])).text


@pytest.mark.parametrize(
    "next_path", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
async def test_sign_in_never_returns_to_another_site(
    app_factory: Callable[..., Any], next_path: str
) -> None:
    app = await app_factory(mail={"backend": "dev"})
    async with new_client(app) as browser:
        signed_in = await sign_in(browser, app, EMAIL, next_path=next_path)
        assert signed_in.headers["location"] == "/account"
