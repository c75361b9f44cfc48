"""Gift links (ATTACKS.md row 20) and other ways to read without paying: grants and licences."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from starlette.applications import Starlette

from meterwall.storage.schema import gift_links, gift_redemptions
from tests.accounts_support import csrf_of, new_client, sign_in

GIVER = "giver@example.com"


@pytest.fixture
async def gift_app(app_factory: Callable[..., Any]) -> Starlette:
    return await app_factory(
        mail={"backend": "dev"},
        gifts={"monthly_allowance": 2, "expiry_days": 7},
        policy={"anonymous_limit": 1},
    )


async def _grant(app: Starlette, email: str, days: int | None = 30) -> None:
    services = app.state.services
    account = await services.members.accounts.get_or_create(email, services.clock())
    await services.billing.grant(account, days, "test", services.clock())


async def _gift_link(app: Starlette, slug: str) -> str:
    async with new_client(app) as giver:
        await sign_in(giver, app, GIVER)
        article = await giver.get(f"/articles/{slug}")
        assert f"/gifts/new?article={slug}" in article.text
        form = await giver.get(f"/gifts/new?article={slug}")
        made = await giver.post("/gifts", data={"csrf": csrf_of(form.text), "article": slug})
        assert made.status_code == 200, made.text
        link = made.text.split('class="gift-link" type="text" readonly value="', 1)[1].split('"')[0]
    assert link.startswith(f"http://testserver/articles/{slug}?gift=")
    return link.replace("http://testserver", "").replace("&amp;", "&")


async def test_attack_20_a_gift_link_opens_that_article_without_using_the_meter(
    gift_app: Starlette,
) -> None:
    await _grant(gift_app, GIVER)
    link = await _gift_link(gift_app, "story-2")
    async with new_client(gift_app) as friend:
        await friend.get("/articles/story-1")
        opened = await friend.get(link)
        assert "SECRET-2-2" in opened.text and "meter-banner" not in opened.text
        again = await friend.get(link)
        assert "SECRET-2-2" in again.text
        meter = await friend.get("/account/meter")
        assert "1 of 1" in meter.text


async def test_attack_20_a_gift_link_reused_for_another_article_is_the_metered_view(
    gift_app: Starlette,
) -> None:
    await _grant(gift_app, GIVER)
    link = await _gift_link(gift_app, "story-2")
    token = link.split("gift=", 1)[1]
    async with new_client(gift_app) as friend:
        await friend.get("/articles/story-1")
        other = await friend.get(f"/articles/story-3?gift={token}")
        assert other.status_code == 200
        assert "SECRET-3-2" not in other.text and "Subscribe" in other.text


async def test_attack_20_an_expired_gift_link_is_the_metered_view(
    gift_app: Starlette, clock: Any
) -> None:
    await _grant(gift_app, GIVER)
    link = await _gift_link(gift_app, "story-2")
    clock.now += timedelta(days=7, seconds=1)
    async with new_client(gift_app) as friend:
        await friend.get("/articles/story-1")
        late = await friend.get(link)
        assert "SECRET-2-2" not in late.text


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),
        lambda t: (
            t.split(".")[0] + "." + str(int(t.split(".")[1]) + 86_400) + "." + t.split(".")[2]
        ),
        lambda t: "0" * 32 + t[32:],
        lambda t: t + "x",
        lambda t: "",
    ],
    ids=["signature", "expiry", "gift id", "trailing", "empty"],
)
async def test_attack_20_a_forged_gift_link_is_the_metered_view(
    gift_app: Starlette, tamper: Callable[[str], str]
) -> None:
    await _grant(gift_app, GIVER)
    link = await _gift_link(gift_app, "story-2")
    token = link.split("gift=", 1)[1]
    async with new_client(gift_app) as friend:
        await friend.get("/articles/story-1")
        forged = await friend.get(f"/articles/story-2?gift={tamper(token)}")
        assert forged.status_code == 200
        assert "SECRET-2-2" not in forged.text


async def test_gift_links_have_a_monthly_allowance(gift_app: Starlette, clock: Any) -> None:
    await _grant(gift_app, GIVER, days=90)
    await _gift_link(gift_app, "story-1")
    await _gift_link(gift_app, "story-2")
    async with new_client(gift_app) as giver:
        await sign_in(giver, gift_app, GIVER)
        form = await giver.get("/gifts/new?article=story-3")
        refused = await giver.post(
            "/gifts", data={"csrf": csrf_of(form.text), "article": "story-3"}
        )
        assert refused.status_code == 429 and "used all your gift links" in refused.text
        clock.now += timedelta(days=31)
        form = await giver.get("/gifts/new?article=story-3")
        made = await giver.post("/gifts", data={"csrf": csrf_of(form.text), "article": "story-3"})
        assert made.status_code == 200


async def test_only_subscribers_can_create_gift_links(gift_app: Starlette, clock: Any) -> None:
    await _grant(gift_app, "lapsed@example.com", days=1)
    async with new_client(gift_app) as reader:
        await sign_in(reader, gift_app, "lapsed@example.com")
        form = await reader.get("/gifts/new?article=story-1")
        clock.now += timedelta(days=2)
        refused = await reader.post(
            "/gifts", data={"csrf": csrf_of(form.text), "article": "story-1"}
        )
        assert refused.status_code == 403 and "for subscribers" in refused.text
        assert (
            "Gift links are for subscribers"
            in (await reader.get("/gifts/new?article=story-1")).text
        )


async def test_a_complimentary_grant_reads_everything_until_it_ends(
    gift_app: Starlette, clock: Any
) -> None:
    await _grant(gift_app, "comp@example.com", days=3)
    async with new_client(gift_app) as reader:
        await sign_in(reader, gift_app, "comp@example.com")
        assert "SECRET-10-2" in (await reader.get("/articles/story-10")).text
        assert "complimentary access" in (await reader.get("/account")).text
        clock.now += timedelta(days=3, seconds=1)
        assert "SECRET-10-2" not in (await reader.get("/articles/story-10")).text


async def test_group_licences_by_network_and_by_email_domain(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(
        mail={"backend": "dev"},
        group_licences={"cidrs": ["192.0.2.0/24"], "email_domains": ["@Campus.example.edu"]},
        policy={"anonymous_limit": 0, "registered_limit": 0},
    )
    async with new_client(app, ip="192.0.2.77") as library:
        assert "SECRET-10-2" in (await library.get("/articles/story-10")).text
    async with new_client(app, ip="198.51.100.1") as outside:
        assert "SECRET-10-2" not in (await outside.get("/articles/story-10")).text
        await sign_in(outside, app, "student@campus.example.edu")
        assert "SECRET-10-2" in (await outside.get("/articles/story-10")).text
    licences = app.state.services.members.licences
    await licences.add("Town library", "cidr", "203.0.113.0/28")
    async with new_client(app, ip="203.0.113.5") as town:
        assert "SECRET-1-2" in (await town.get("/articles/story-1")).text


async def _opens(app: Starlette, link: str) -> bool:
    """Whether a new browser that already used its one free article reads the gifted story."""
    async with new_client(app) as stranger:
        await stranger.get("/articles/story-1")
        page = await stranger.get(link)
        return "SECRET-2-2" in page.text


async def test_attack_33_a_link_posted_publicly_opens_for_its_cap_of_readers_at_once(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(
        mail={"backend": "dev"},
        gifts={"max_recipients": 5},
        policy={"anonymous_limit": 1},
    )
    await _grant(app, GIVER)
    link = await _gift_link(app, "story-2")
    opened = await asyncio.gather(*(_opens(app, link) for _ in range(100)))
    assert sum(opened) == 5, "100 strangers at once: exactly the cap of readers get the story"
    assert not await _opens(app, link)


async def test_attack_33_a_recipient_keeps_the_story_when_the_giver_revokes_the_link(
    gift_app: Starlette,
) -> None:
    await _grant(gift_app, GIVER)
    link = await _gift_link(gift_app, "story-2")
    async with new_client(gift_app) as friend, new_client(gift_app) as giver:
        await friend.get("/articles/story-1")
        assert "SECRET-2-2" in (await friend.get(link)).text
        await sign_in(giver, gift_app, GIVER)
        account = await giver.get("/account")
        assert "1 of 25 readers" in account.text
        services = gift_app.state.services
        giver_account = await services.members.accounts.by_email(GIVER)
        gift_id = (await services.members.gifts.sent(giver_account.id))[0].id
        revoked = await giver.post(
            "/account/gifts/revoke", data={"csrf": csrf_of(account.text), "gift": gift_id}
        )
        assert revoked.headers["location"] == "/account?notice=gift-revoked"
        assert "revoked" in (await giver.get("/account")).text
        assert "SECRET-2-2" in (await friend.get(link)).text, "who opened it keeps it"
    assert not await _opens(gift_app, link), "a revoked link opens for nobody new"


async def test_attack_33_links_stop_when_the_givers_entitlement_ends(
    gift_app: Starlette, clock: Any
) -> None:
    await _grant(gift_app, GIVER, days=2)
    link = await _gift_link(gift_app, "story-2")
    async with new_client(gift_app) as friend:
        await friend.get("/articles/story-1")
        assert "SECRET-2-2" in (await friend.get(link)).text
        clock.now += timedelta(days=2, seconds=1)
        assert "SECRET-2-2" in (await friend.get(link)).text, "who opened it keeps it"
    assert not await _opens(gift_app, link)


async def test_a_link_whose_stored_gift_is_gone_opens_nothing(gift_app: Starlette) -> None:
    await _grant(gift_app, GIVER)
    link = await _gift_link(gift_app, "story-2")
    services = gift_app.state.services
    async with services.engine.begin() as conn:
        await conn.execute(delete(gift_links))
    assert not await _opens(gift_app, link)


async def test_deleting_reading_data_forgets_which_gift_links_the_reader_opened(
    gift_app: Starlette,
) -> None:
    await _grant(gift_app, GIVER)
    link = await _gift_link(gift_app, "story-2")
    services = gift_app.state.services
    async with new_client(gift_app) as friend:
        await friend.get("/articles/story-1")
        assert "SECRET-2-2" in (await friend.get(link)).text
        async with services.engine.connect() as conn:
            assert len((await conn.execute(select(gift_redemptions))).all()) == 1
        page = await friend.get("/account/meter")
        done = await friend.post("/account/meter/delete", data={"csrf": csrf_of(page.text)})
        assert done.status_code in (200, 303)
    async with services.engine.connect() as conn:
        assert (await conn.execute(select(gift_redemptions))).all() == []
