"""Crawler verification: reverse then forward DNS, cached, with a fake resolver."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterwall.identity.crawlers import (
    CRAWLERS,
    CrawlerVerifier,
    SystemResolver,
    claimed_family,
)
from tests.fixtures.upstream.harness import (
    BINGBOT_IP,
    BINGBOT_UA,
    GOOGLEBOT_HOST,
    GOOGLEBOT_IP,
    GOOGLEBOT_UA,
    FakeResolver,
    search_dns,
)

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"


class Ticker:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_genuine_googlebot_is_verified() -> None:
    assert await CrawlerVerifier(search_dns()).verify(GOOGLEBOT_IP, GOOGLEBOT_UA)


async def test_genuine_bingbot_is_verified() -> None:
    assert await CrawlerVerifier(search_dns()).verify(BINGBOT_IP, BINGBOT_UA)


async def test_spoofed_user_agent_from_another_address_is_not() -> None:
    assert not await CrawlerVerifier(search_dns()).verify("203.0.113.9", GOOGLEBOT_UA)


async def test_a_google_address_claiming_to_be_bingbot_is_not() -> None:
    assert not await CrawlerVerifier(search_dns()).verify(GOOGLEBOT_IP, BINGBOT_UA)


async def test_an_ordinary_browser_costs_no_lookup() -> None:
    dns = search_dns()
    assert not await CrawlerVerifier(dns).verify(GOOGLEBOT_IP, BROWSER_UA)
    assert dns.lookups == 0


async def test_reverse_name_outside_the_crawler_domain_is_rejected() -> None:
    dns = FakeResolver(
        reverse={"198.51.100.1": ["googlebot.com.attacker.example"]},
        forward={"googlebot.com.attacker.example": ["198.51.100.1"]},
    )
    assert not await CrawlerVerifier(dns).verify("198.51.100.1", GOOGLEBOT_UA)


async def test_forward_lookup_mismatch_is_rejected() -> None:
    # The attacker controls the PTR record of their own address, not google's DNS.
    dns = FakeResolver(
        reverse={"198.51.100.1": [GOOGLEBOT_HOST]}, forward={GOOGLEBOT_HOST: [GOOGLEBOT_IP]}
    )
    assert not await CrawlerVerifier(dns).verify("198.51.100.1", GOOGLEBOT_UA)


async def test_ipv6_crawlers_compare_addresses_not_spellings() -> None:
    host = "crawl-2001-4860-4801-1.googlebot.com"
    dns = FakeResolver(
        reverse={"2001:4860:4801::1": [host]}, forward={host: ["2001:4860:4801:0:0:0:0:1"]}
    )
    assert await CrawlerVerifier(dns).verify("2001:4860:4801::1", GOOGLEBOT_UA)


async def test_garbage_addresses_are_rejected_without_lookup() -> None:
    dns = search_dns()
    assert not await CrawlerVerifier(dns).verify("not-an-ip", GOOGLEBOT_UA)
    assert not await CrawlerVerifier(dns).verify("", GOOGLEBOT_UA)


async def test_answers_are_cached_and_expire() -> None:
    dns, clock = search_dns(), Ticker()
    verifier = CrawlerVerifier(dns, positive_ttl=100, negative_ttl=10, clock=clock)
    for _ in range(5):
        assert await verifier.verify(GOOGLEBOT_IP, GOOGLEBOT_UA)
        assert not await verifier.verify("203.0.113.9", GOOGLEBOT_UA)
    assert dns.lookups == 3
    clock.now += 11
    assert not await verifier.verify("203.0.113.9", GOOGLEBOT_UA)
    assert await verifier.verify(GOOGLEBOT_IP, GOOGLEBOT_UA)
    assert dns.lookups == 4, "only the negative answer expired"


async def test_concurrent_claims_share_one_lookup() -> None:
    class Slow(FakeResolver):
        async def reverse(self, address: str) -> list[str]:
            await asyncio.sleep(0.05)
            return await super().reverse(address)

    dns = Slow(reverse={}, forward={})
    verifier = CrawlerVerifier(dns)
    results = await asyncio.gather(
        *(verifier.verify("203.0.113.5", GOOGLEBOT_UA) for _ in range(20))
    )
    assert results == [False] * 20
    assert dns.lookups == 1


async def test_the_cache_is_bounded() -> None:
    verifier = CrawlerVerifier(search_dns(), max_entries=3)
    for i in range(10):
        await verifier.verify(f"203.0.113.{i}", GOOGLEBOT_UA)
    assert len(verifier._cache) == 3


async def test_a_failing_resolver_means_unverified() -> None:
    class Broken(FakeResolver):
        async def reverse(self, address: str) -> list[str]:
            raise RuntimeError("resolver exploded")

    assert not await CrawlerVerifier(Broken({}, {})).verify(GOOGLEBOT_IP, GOOGLEBOT_UA)


@pytest.mark.parametrize(
    ("agent", "family"),
    [
        (GOOGLEBOT_UA, "google"),
        ("Mozilla/5.0 (Linux; Android 6.0.1) Chrome/130 (compatible; Googlebot/2.1)", "google"),
        ("Googlebot-Image/1.0", "google"),
        ("Mozilla/5.0 (compatible; Google-InspectionTool/1.0)", "google"),
        (BINGBOT_UA, "bing"),
        (BROWSER_UA, None),
        ("", None),
    ],
)
def test_user_agent_claims(agent: str, family: str | None) -> None:
    for _ in range(2):  # read, then remembered
        found = claimed_family(agent)
        assert (found.name if found else None) == family


def test_claims_are_read_case_folded_and_at_any_length() -> None:
    assert claimed_family("\u00dftorebot-Google") is CRAWLERS[0]  # "ß" folds to "ss"
    padding = "Mozilla/5.0 " + "x" * 2000
    assert claimed_family(padding + " BingBot/2.0") is CRAWLERS[1]
    assert claimed_family(padding) is None


_AGENT_PARTS = st.sampled_from(
    [
        *("Mozilla/5.0 ", "GoogleBot", "goog", "lebot", "BINGPREVIEW", "msn", "bot", "adidx"),
        *("storebot-", "\u00df", "\u212a", "-google", "(compatible; ", "x" * 300, "\u0130"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_AGENT_PARTS, max_size=6).map("".join))
def test_a_claim_is_a_token_in_the_folded_user_agent(agent: str) -> None:
    folded = agent.casefold()
    expected = next(
        (f for f in CRAWLERS if any(token in folded for token in f.user_agent_tokens)), None
    )
    assert claimed_family(agent) is expected
    assert claimed_family(agent) is expected


async def test_system_resolver_answers_for_loopback_offline() -> None:
    resolver = SystemResolver(timeout=2)
    assert "127.0.0.1" in await resolver.forward("localhost")
    assert isinstance(await resolver.reverse("127.0.0.1"), list)
    assert await resolver.reverse("not an address") == []
