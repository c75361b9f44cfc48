"""Gift links: a subscriber shares one article, free to whoever opens the link.

Why here, in identity: a gift link is one more way a request earns an
entitlement, read on every article view alongside sessions and group
licences; billing only decides who may create one (subscribers).

A link's token is ``<gift id>.<expiry>.<signature>``; the signature is an
HMAC over the gift id, the expiry *and the article id*, so the same token on
another article, after its expiry, or with any byte changed verifies as
nothing and the reader gets the normal metered view.  Each subscriber may
create ``monthly_allowance`` links per calendar month (UTC).

A signature is not enough to open a link: the link must still be stored, not
revoked by its giver, and its giver must still hold an entitlement that may
gift; and each link opens for at most ``max_recipients`` distinct readers.
A reader who opened a link keeps that article through it whatever happens
to the link later.  Counting a recipient is reserved atomically, so a link
posted publicly and opened by hundreds at once still opens for the cap.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.access.model import Entitlement
from meterwall.settings import GiftSettings
from meterwall.storage.schema import accounts, gift_links, gift_redemptions
from meterwall.storage.times import utc
from meterwall.storage.transactions import write_transaction

_TOKEN = re.compile(r"^([0-9a-f]{32})\.([0-9]{1,12})\.([0-9a-f]{64})$")


GIFTING = frozenset({Entitlement.SUBSCRIPTION, Entitlement.TRIAL, Entitlement.COMPLIMENTARY})
"""Entitlements whose holder may create gift links (licences are not the holder's to share)."""


class AllowanceUsed(Exception):
    """The subscriber has created all the gift links allowed this month."""


@dataclass(frozen=True, slots=True)
class GiftLink:
    """A created gift link."""

    token: str
    article_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SentGift:
    """A link as its giver sees it on their account page."""

    id: str
    article_id: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    recipients: int

    def live(self, now: datetime) -> bool:
        """Whether the link still opens for new recipients (cap aside)."""
        return self.revoked_at is None and self.expires_at > now


def recipient_hash(reader_id: str) -> str:
    return hashlib.sha256(f"meterwall.gift-recipient:{reader_id}".encode()).hexdigest()


def _month_start(now: datetime) -> datetime:
    now = now.astimezone(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class GiftLinks:
    """Creates and verifies gift links."""

    def __init__(
        self, engine: AsyncEngine, secrets_newest_first: Sequence[str], settings: GiftSettings
    ) -> None:
        self._engine = engine
        self._keys = [k.encode() for k in secrets_newest_first]
        self._settings = settings

    def _mac(self, key: bytes, gift_id: str, expires: int, article_id: str) -> str:
        message = f"meterwall.gift:{gift_id}:{expires}:{article_id}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    @property
    def allowance(self) -> int:
        """Links a subscriber may create per month."""
        return self._settings.monthly_allowance

    async def used_this_month(self, account_id: str, now: datetime) -> int:
        """How many links the account created this calendar month."""
        async with self._engine.connect() as conn:
            return int(
                (
                    await conn.execute(
                        select(func.count())
                        .select_from(gift_links)
                        .where(
                            gift_links.c.account_id == account_id,
                            gift_links.c.created_at >= _month_start(now),
                        )
                    )
                ).scalar_one()
            )

    async def create(self, account_id: str, article_id: str, now: datetime) -> GiftLink:
        """A new link to ``article_id``; :class:`AllowanceUsed` past the monthly allowance."""
        now = now.astimezone(UTC)
        expires_at = now + timedelta(days=self._settings.expiry_days)
        gift_id = secrets.token_hex(16)
        async with write_transaction(self._engine) as conn:
            # The account row's lock makes count-then-insert one step on PostgreSQL too
            # (SQLite's write lock, taken up front, already does).
            await conn.execute(
                select(accounts.c.id).where(accounts.c.id == account_id).with_for_update()
            )
            used = (
                await conn.execute(
                    select(func.count())
                    .select_from(gift_links)
                    .where(
                        gift_links.c.account_id == account_id,
                        gift_links.c.created_at >= _month_start(now),
                    )
                )
            ).scalar_one()
            if used >= self._settings.monthly_allowance:
                raise AllowanceUsed
            await conn.execute(
                gift_links.insert().values(
                    id=gift_id,
                    account_id=account_id,
                    article_id=article_id,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
        expires = int(expires_at.timestamp())
        token = f"{gift_id}.{expires}.{self._mac(self._keys[0], gift_id, expires, article_id)}"
        return GiftLink(token=token, article_id=article_id, expires_at=expires_at)

    def signed_id(self, token: str | None, article_id: str, now: datetime) -> str | None:
        """The gift id of ``token`` if it is signed for exactly this article and unexpired."""
        if not token or len(token) > 200:
            return None
        match = _TOKEN.match(token)
        if match is None:
            return None
        gift_id, expires_text, signature = match.groups()
        expires = int(expires_text)
        if expires <= now.timestamp():
            return None
        if any(
            hmac.compare_digest(self._mac(key, gift_id, expires, article_id), signature)
            for key in self._keys
        ):
            return gift_id
        return None

    async def redeem(
        self,
        token: str | None,
        article_id: str,
        reader_id: str,
        now: datetime,
        giver_may_gift: Callable[[str], Awaitable[bool]],
    ) -> bool:
        """Whether ``token`` opens ``article_id`` for this reader, counting them if new.

        ``giver_may_gift(account_id)`` tells whether the giver still holds an
        entitlement that may gift; it is asked only for a new recipient.
        """
        gift_id = self.signed_id(token, article_id, now)
        if gift_id is None:
            return False
        recipient = recipient_hash(reader_id)
        async with self._engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(
                            gift_links.c.account_id,
                            gift_links.c.article_id,
                            gift_links.c.revoked_at,
                        ).where(gift_links.c.id == gift_id)
                    )
                )
                .mappings()
                .first()
            )
            if row is None or row["article_id"] != article_id:
                return False
            opened = (
                await conn.execute(
                    select(gift_redemptions.c.gift_id).where(
                        gift_redemptions.c.gift_id == gift_id,
                        gift_redemptions.c.reader_hash == recipient,
                    )
                )
            ).first()
        if opened is not None:
            return True
        if row["revoked_at"] is not None or not await giver_may_gift(row["account_id"]):
            return False
        return await self._count_recipient(gift_id, recipient, now)

    async def _count_recipient(self, gift_id: str, recipient: str, now: datetime) -> bool:
        """Add a recipient to the link unless it has reached its cap (one atomic step)."""
        async with write_transaction(self._engine) as conn:
            live = (
                await conn.execute(
                    select(gift_links.c.id)
                    .where(gift_links.c.id == gift_id, gift_links.c.revoked_at.is_(None))
                    .with_for_update()
                )
            ).first()
            if live is None:
                return False
            counted = (
                (
                    await conn.execute(
                        select(gift_redemptions.c.reader_hash).where(
                            gift_redemptions.c.gift_id == gift_id
                        )
                    )
                )
                .scalars()
                .all()
            )
            if recipient in counted:
                return True
            if len(counted) >= self._settings.max_recipients:
                return False
            await conn.execute(
                gift_redemptions.insert().values(
                    gift_id=gift_id, reader_hash=recipient, opened_at=now.astimezone(UTC)
                )
            )
        return True

    async def sent(self, account_id: str, limit: int = 100) -> list[SentGift]:
        """The account's links, newest first, with how many readers opened each."""
        recipients = (
            select(func.count())
            .select_from(gift_redemptions)
            .where(gift_redemptions.c.gift_id == gift_links.c.id)
            .scalar_subquery()
        )
        query = (
            select(gift_links, recipients.label("recipients"))
            .where(gift_links.c.account_id == account_id)
            .order_by(gift_links.c.created_at.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings()
            return [
                SentGift(
                    id=r["id"],
                    article_id=r["article_id"],
                    created_at=utc(r["created_at"]),
                    expires_at=utc(r["expires_at"]),
                    revoked_at=utc(r["revoked_at"]) if r["revoked_at"] is not None else None,
                    recipients=int(r["recipients"]),
                )
                for r in rows
            ]

    async def revoke(self, account_id: str, gift_id: str, now: datetime) -> bool:
        """The giver ends one of their links now; whether it was theirs and still open."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(gift_links)
                .where(
                    gift_links.c.id == gift_id,
                    gift_links.c.account_id == account_id,
                    gift_links.c.revoked_at.is_(None),
                )
                .values(revoked_at=now.astimezone(UTC))
            )
        return result.rowcount == 1
