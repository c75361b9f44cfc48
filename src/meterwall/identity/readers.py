"""From a request's facts to the :class:`ReaderState` access depends on.

Every source of entitlement (accounts and subscriptions, group licences,
gift links, verified crawlers) contributes here, so the web layer asks one
question and ``decide()`` receives one plain object.
"""

from __future__ import annotations

from dataclasses import dataclass

from meterwall.access.model import ReaderState


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the server itself knows about a request (never what the client claims)."""

    reader_id: str
    client_ip: str
    user_agent: str = ""
    article_id: str | None = None
    gift_token: str | None = None


class Readers:
    """Resolves the reader behind a request."""

    async def state(self, facts: RequestFacts) -> ReaderState:
        """The reader state for these request facts."""
        return ReaderState(reader_id=facts.reader_id)
