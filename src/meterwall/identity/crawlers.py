"""Verified search crawlers: a User-Agent is a claim, DNS is the proof.

A request that says it is Googlebot or Bingbot is believed only when its
client address passes the check the search engines document: a reverse DNS
lookup gives a host name in the crawler's domain, and a forward lookup of
that name gives back the same address.  Answers are cached (positive ones
for a day, negative ones for an hour) and concurrent checks of one address
share one lookup, so a flood of fake crawlers costs one DNS round trip per
address.  The resolver is a port, so tests (and air-gapped installs) can
supply their own.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CrawlerFamily:
    """A search engine's crawlers: how they name themselves and where they live in DNS."""

    name: str
    user_agent_tokens: tuple[str, ...]
    domains: tuple[str, ...]


CRAWLERS: tuple[CrawlerFamily, ...] = (
    CrawlerFamily(
        "google",
        ("googlebot", "google-inspectiontool", "googleother", "storebot-google", "adsbot-google"),
        ("googlebot.com", "google.com"),
    ),
    CrawlerFamily("bing", ("bingbot", "bingpreview", "msnbot", "adidxbot"), ("search.msn.com",)),
)
"""The crawlers meterwall can verify, per the search engines' own documentation."""


class Resolver(Protocol):
    """Reverse and forward DNS lookups."""

    async def reverse(self, address: str) -> list[str]:
        """The host names (PTR records) of ``address``; empty when there are none."""
        ...

    async def forward(self, host: str) -> list[str]:
        """The addresses (A and AAAA records) of ``host``; empty when there are none."""
        ...


class SystemResolver:
    """The operating system's resolver, run off the event loop with a timeout."""

    def __init__(self, timeout: float = 2.0) -> None:
        self.timeout = timeout

    async def reverse(self, address: str) -> list[str]:
        """PTR names of ``address`` via ``gethostbyaddr``."""
        try:
            async with asyncio.timeout(self.timeout):
                name, aliases, _ = await asyncio.to_thread(socket.gethostbyaddr, address)
        except (OSError, TimeoutError, UnicodeError):
            return []
        return [name, *aliases]

    async def forward(self, host: str) -> list[str]:
        """Addresses of ``host`` via ``getaddrinfo``."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                infos = await loop.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, TimeoutError, UnicodeError):
            return []
        return [str(info[4][0]) for info in infos]


_CLAIMS_KEPT = 1024
"""How many User-Agents' claims each process remembers (browsers send few distinct ones)."""
_CLAIM_KEPT_LENGTH = 512
"""Longer User-Agents are read every time, so the remembered ones stay small."""


def claimed_family(user_agent: str) -> CrawlerFamily | None:
    """The crawler family a User-Agent claims to be, if any.

    Every request asks, and a browser's User-Agent is long, so the answers
    for the User-Agents seen most recently are remembered.
    """
    if len(user_agent) <= _CLAIM_KEPT_LENGTH:
        return _remembered_claim(user_agent)
    return _claim(user_agent)


def _claim(user_agent: str) -> CrawlerFamily | None:
    agent = user_agent.casefold()
    for family in CRAWLERS:
        if any(token in agent for token in family.user_agent_tokens):
            return family
    return None


_remembered_claim = lru_cache(maxsize=_CLAIMS_KEPT)(_claim)


def _in_domains(host: str, domains: tuple[str, ...]) -> bool:
    name = host.rstrip(".").casefold()
    return any(name.endswith("." + d) for d in domains)


def _same_address(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b.split("%")[0])
    except ValueError:
        return False


class CrawlerVerifier:
    """Decides whether a request comes from a genuine, DNS-verified search crawler."""

    def __init__(
        self,
        resolver: Resolver,
        positive_ttl: float = 86_400,
        negative_ttl: float = 3_600,
        max_entries: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.resolver = resolver
        self._positive_ttl = positive_ttl
        self._negative_ttl = negative_ttl
        self._max_entries = max_entries
        self._clock = clock
        self._cache: OrderedDict[tuple[str, str], tuple[bool, float]] = OrderedDict()
        self._pending: dict[tuple[str, str], asyncio.Future[bool]] = {}

    async def verify(self, client_ip: str, user_agent: str) -> bool:
        """Whether ``client_ip`` is a verified crawler of the family ``user_agent`` claims."""
        family = claimed_family(user_agent)
        if family is None or not client_ip:
            return False
        key = (family.name, client_ip)
        cached = self._cache.get(key)
        if cached is not None and cached[1] > self._clock():
            self._cache.move_to_end(key)
            return cached[0]
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            verified = await self._lookup(family, client_ip)
        except Exception:
            log.exception("crawler verification of %s failed", client_ip)
            verified = False
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._pending[key]
        future.set_result(verified)
        self._remember(key, verified)
        return verified

    async def _lookup(self, family: CrawlerFamily, client_ip: str) -> bool:
        try:
            ipaddress.ip_address(client_ip)
        except ValueError:
            return False
        for host in await self.resolver.reverse(client_ip):
            if not _in_domains(host, family.domains):
                continue
            addresses = await self.resolver.forward(host.rstrip("."))
            if any(_same_address(client_ip, a) for a in addresses):
                return True
        log.info("unverified %s crawler claim from %s", family.name, client_ip)
        return False

    def _remember(self, key: tuple[str, str], verified: bool) -> None:
        ttl = self._positive_ttl if verified else self._negative_ttl
        self._cache[key] = (verified, self._clock() + ttl)
        self._cache.move_to_end(key)
        while len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)
