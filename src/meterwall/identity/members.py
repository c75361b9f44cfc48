"""What the reader's account, licences and gift links add to a request's reader state.

:class:`Members` is what :class:`~meterwall.identity.readers.Readers` asks
about a request: is this browser signed in (and to which account), what does
that account hold (subscription, complimentary access), is the client on a
licensed network, and does the request carry a gift link for this article.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from meterwall.access.model import Entitlement, ReaderState
from meterwall.identity.accounts import Account, AccountStore, meter_key
from meterwall.identity.gifts import GIFTING, GiftLinks
from meterwall.identity.licences import GroupLicences
from meterwall.identity.sessions import Session, SessionStore


class EntitlementLookup(Protocol):
    """Where an account's paid or granted access is kept (the billing service)."""

    async def entitlements(self, account_id: str, now: datetime) -> frozenset[Entitlement]:
        """The account's entitlements at ``now``."""
        ...


@dataclass(frozen=True, slots=True)
class Member:
    """A signed-in reader: the account and the session of this browser."""

    account: Account
    session: Session


class Members:
    """Resolves accounts, licences and gifts for a request."""

    def __init__(
        self,
        accounts: AccountStore,
        sessions: SessionStore,
        entitlements: EntitlementLookup,
        licences: GroupLicences,
        gifts: GiftLinks,
    ) -> None:
        self.accounts = accounts
        self.sessions = sessions
        self.entitlements = entitlements
        self.licences = licences
        self.gifts = gifts

    def _may_gift(self, now: datetime) -> Callable[[str], Awaitable[bool]]:
        async def may_gift(account_id: str) -> bool:
            return bool(await self.entitlements.entitlements(account_id, now) & GIFTING)

        return may_gift

    async def member(self, reader_id: str, now: datetime) -> Member | None:
        """The signed-in account of this reader id, if any."""
        session = await self.sessions.lookup(reader_id, now)
        if session is None:
            return None
        account = await self.accounts.by_id(session.account_id)
        if account is None:
            return None
        return Member(account, session)

    async def apply(
        self,
        state: ReaderState,
        *,
        client_ip: str,
        article_id: str | None,
        gift_token: str | None,
        now: datetime | None,
    ) -> ReaderState:
        """``state`` with the account's meter, registration and entitlements filled in."""
        now = now or datetime.now(UTC)
        member = await self.member(state.reader_id, now)
        email = member.account.email if member is not None else None
        held: set[Entitlement] = set(state.entitlements)
        if member is not None:
            held |= await self.entitlements.entitlements(member.account.id, now)
            state = replace(state, reader_id=meter_key(member.account.id), registered=True)
        if await self.licences.covers(client_ip, email):
            held.add(Entitlement.GROUP_LICENCE)
        gift_article_id = state.gift_article_id
        if (
            article_id is not None
            and gift_token
            and await self.gifts.redeem(
                gift_token, article_id, state.reader_id, now, self._may_gift(now)
            )
        ):
            gift_article_id = article_id
        if held == state.entitlements and gift_article_id == state.gift_article_id:
            return state  # most readers: nothing to add, and no copy to make
        return replace(state, entitlements=frozenset(held), gift_article_id=gift_article_id)
