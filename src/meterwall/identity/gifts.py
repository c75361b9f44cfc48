"""Gift links: a subscriber shares one article, free to whoever opens the link.

Why here, in identity: a gift link is one more way a request earns an
entitlement, read on every article view alongside sessions and group
licences; billing only decides who may create one (subscribers).

A link's token is ``<gift id>.<expiry>.<signature>``; the signature is an
HMAC over the gift id, the expiry *and the article id*, so the same token on
another article, after its expiry, or with any byte changed verifies as
nothing and the reader gets the normal metered view.  Each subscriber may
create ``monthly_allowance`` links per calendar month (UTC).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.settings import GiftSettings
from meterwall.storage.schema import gift_links
from meterwall.storage.transactions import write_transaction

_TOKEN = re.compile(r"^([0-9a-f]{32})\.([0-9]{1,12})\.([0-9a-f]{64})$")


class AllowanceUsed(Exception):
    """The subscriber has created all the gift links allowed this month."""


@dataclass(frozen=True, slots=True)
class GiftLink:
    """A created gift link."""

    token: str
    article_id: str
    expires_at: datetime


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

    def verify(self, token: str | None, article_id: str, now: datetime) -> bool:
        """Whether ``token`` is a live gift link for exactly this article."""
        if not token or len(token) > 200:
            return False
        match = _TOKEN.match(token)
        if match is None:
            return False
        gift_id, expires_text, signature = match.groups()
        expires = int(expires_text)
        if expires <= now.timestamp():
            return False
        return any(
            hmac.compare_digest(self._mac(key, gift_id, expires, article_id), signature)
            for key in self._keys
        )
