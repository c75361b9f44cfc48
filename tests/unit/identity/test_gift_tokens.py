"""Gift-link tokens: bound to one article, expiring, unforgeable, surviving key rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from meterwall.identity.gifts import GiftLinks
from meterwall.identity.loginlinks import safe_next
from meterwall.identity.sessions import device_name
from meterwall.settings import GiftSettings
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
ids = st.text(st.characters(min_codepoint=45, max_codepoint=122), min_size=1, max_size=30)


async def _gifts(tmp_path: Path, keys: list[str]) -> GiftLinks:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gifts.db'}"
    upgrade(url)
    return GiftLinks(create_engine(url), keys, GiftSettings(monthly_allowance=5, expiry_days=2))


async def test_a_token_opens_only_its_article_until_it_expires(tmp_path: Path) -> None:
    from meterwall.identity.accounts import AccountStore

    gifts = await _gifts(tmp_path, ["new", "old"])
    engine = gifts._engine
    account = await AccountStore(engine).get_or_create("g@example.com", NOW)
    link = await gifts.create(account.id, "story-1", NOW)

    def opens(links: GiftLinks, article: str, at: datetime) -> bool:
        return links.signed_id(link.token, article, at) is not None

    assert opens(gifts, "story-1", NOW)
    assert opens(gifts, "story-1", NOW + timedelta(days=2) - timedelta(seconds=1))
    assert not opens(gifts, "story-1", NOW + timedelta(days=2))
    assert not opens(gifts, "story-2", NOW)
    assert opens(GiftLinks(engine, ["newest", "new"], GiftSettings()), "story-1", NOW)
    assert not opens(GiftLinks(engine, ["other"], GiftSettings()), "story-1", NOW)
    await engine.dispose()


@given(ids, ids, st.text(max_size=120))
def test_no_token_made_for_one_article_or_by_hand_opens_another(
    article: str, other: str, forged: str
) -> None:
    gifts = GiftLinks(create_engine("sqlite+aiosqlite://"), ["k"], GiftSettings())
    expires = int((NOW + timedelta(days=1)).timestamp())
    token = f"{'a' * 32}.{expires}.{gifts._mac(b'k', 'a' * 32, expires, article)}"
    assert gifts.signed_id(token, article, NOW) == "a" * 32
    if other != article:
        assert gifts.signed_id(token, other, NOW) is None
    assert gifts.signed_id(forged, article, NOW) is None or forged == token


@given(st.text(max_size=80))
def test_the_return_path_after_login_never_leaves_the_site(raw: str) -> None:
    path = safe_next(raw)
    assert path.startswith("/") and not path.startswith("//") and "\\" not in path


def test_devices_are_named_for_people() -> None:
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
    assert device_name(firefox) == "Firefox on Linux"
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Safari/605.1"
    assert device_name(iphone) == "Safari on iPhone"
    assert device_name("") == "Unknown device"
    assert device_name("curl/8.0\x00") == "curl/8.0"
