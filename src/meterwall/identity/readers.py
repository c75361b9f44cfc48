"""From a request's facts to the :class:`ReaderState` access depends on.

Every source of entitlement (accounts and subscriptions, group licences,
gift links, verified crawlers) contributes here, so the web layer asks one
question and ``decide()`` receives one plain object.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from meterwall.access.model import ReaderState
from meterwall.analytics.referrers import ReferrerClass, classify_referrer
from meterwall.identity.networks import client_network

if TYPE_CHECKING:
    from meterwall.identity.crawlers import CrawlerVerifier
    from meterwall.identity.members import Members


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the server itself knows about a request (never what the client claims)."""

    reader_id: str
    client_ip: str
    user_agent: str = ""
    article_id: str | None = None
    gift_token: str | None = None
    now: datetime | None = None
    referer: str = ""


class Readers:
    """Resolves the reader behind a request."""

    def __init__(
        self,
        members: Members | None = None,
        crawlers: CrawlerVerifier | None = None,
        own_hosts: frozenset[str] = frozenset(),
    ) -> None:
        self.members = members
        self.crawlers = crawlers
        self.own_hosts = own_hosts

    async def state(self, facts: RequestFacts) -> ReaderState:
        """The reader state for these request facts."""
        state = ReaderState(reader_id=facts.reader_id, network=client_network(facts.client_ip))
        if self.members is not None:
            state = await self.members.apply(
                state,
                client_ip=facts.client_ip,
                article_id=facts.article_id,
                gift_token=facts.gift_token,
                now=facts.now,
            )
        if self.crawlers is not None and await self.crawlers.verify(
            facts.client_ip, facts.user_agent
        ):
            state = replace(state, verified_crawler=True)
        if facts.referer and (
            classify_referrer(facts.referer, self.own_hosts) is ReferrerClass.SEARCH
        ):
            state = replace(state, search_referral=True)
        return state
