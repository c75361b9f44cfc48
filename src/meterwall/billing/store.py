"""Subscriptions and complimentary grants as meterwall keeps them, in the database."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import RowMapping, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from meterwall.billing.model import (
    Grant,
    StoredSubscription,
    SubscriptionSnapshot,
    past_due_since,
)
from meterwall.storage.schema import accounts, complimentary_grants, subscriptions
from meterwall.storage.times import utc


def _maybe(value: datetime | None) -> datetime | None:
    return utc(value) if value is not None else None


def _stored(row: RowMapping) -> StoredSubscription:
    return StoredSubscription(
        id=row["id"],
        account_id=row["account_id"],
        customer_id=row["customer_id"],
        offer_id=row["offer_id"],
        status=row["status"],
        cancel_at_period_end=bool(row["cancel_at_period_end"]),
        current_period_end=_maybe(row["current_period_end"]),
        trial_end=_maybe(row["trial_end"]),
        past_due_since=_maybe(row["past_due_since"]),
        updated_at=utc(row["updated_at"]),
    )


class BillingStore:
    """Reads and writes the ``subscriptions`` and ``complimentary_grants`` tables."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def account_for(self, conn: AsyncConnection, snap: SubscriptionSnapshot) -> str | None:
        """The account a subscription belongs to: by its metadata, else by its customer."""
        if snap.account_id:
            found = (
                await conn.execute(select(accounts.c.id).where(accounts.c.id == snap.account_id))
            ).scalar_one_or_none()
            if found is not None:
                return str(found)
        if snap.customer_id:
            found = (
                await conn.execute(
                    select(accounts.c.id).where(accounts.c.stripe_customer_id == snap.customer_id)
                )
            ).scalar_one_or_none()
            if found is not None:
                return str(found)
        return None

    async def upsert(
        self, conn: AsyncConnection, snap: SubscriptionSnapshot, now: datetime
    ) -> StoredSubscription | None:
        """Replace the stored subscription with ``snap``; ``None`` if no account owns it."""
        account_id = await self.account_for(conn, snap)
        if account_id is None:
            return None
        now = now.astimezone(UTC)
        old = (
            (await conn.execute(select(subscriptions).where(subscriptions.c.id == snap.id)))
            .mappings()
            .first()
        )
        values = {
            "account_id": account_id,
            "customer_id": snap.customer_id,
            "offer_id": snap.offer_id or (old["offer_id"] if old else ""),
            "status": snap.status,
            "cancel_at_period_end": snap.cancel_at_period_end,
            "current_period_end": snap.current_period_end,
            "trial_end": snap.trial_end,
            "past_due_since": past_due_since(
                snap.status,
                old["status"] if old else None,
                _maybe(old["past_due_since"]) if old else None,
                now,
            ),
            "updated_at": now,
        }
        if old is None:
            await conn.execute(subscriptions.insert().values(id=snap.id, **values))
        else:
            await conn.execute(
                update(subscriptions).where(subscriptions.c.id == snap.id).values(**values)
            )
        row = (
            (await conn.execute(select(subscriptions).where(subscriptions.c.id == snap.id)))
            .mappings()
            .one()
        )
        return _stored(row)

    async def of_account(self, account_id: str) -> list[StoredSubscription]:
        """The account's subscriptions, most recently updated first."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(subscriptions)
                    .where(subscriptions.c.account_id == account_id)
                    .order_by(subscriptions.c.updated_at.desc())
                )
            ).mappings()
            return [_stored(r) for r in rows]

    async def all_ids(self) -> list[str]:
        """Every stored subscription id."""
        async with self.engine.connect() as conn:
            return [str(r) for r in (await conn.execute(select(subscriptions.c.id))).scalars()]

    async def grant(
        self, account_id: str, expires_at: datetime | None, note: str, now: datetime
    ) -> None:
        """Give the account complimentary access until ``expires_at`` (``None``: no end)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                complimentary_grants.insert().values(
                    id=secrets.token_hex(16),
                    account_id=account_id,
                    granted_at=now.astimezone(UTC),
                    expires_at=expires_at.astimezone(UTC) if expires_at else None,
                    note=note,
                )
            )

    async def grants(self, limit: int = 500) -> list[Grant]:
        """Complimentary grants with their account's e-mail, newest first."""
        query = (
            select(complimentary_grants, accounts.c.email)
            .join(accounts, accounts.c.id == complimentary_grants.c.account_id)
            .order_by(complimentary_grants.c.granted_at.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings()
            return [
                Grant(
                    id=r["id"],
                    account_id=r["account_id"],
                    email=r["email"],
                    granted_at=utc(r["granted_at"]),
                    expires_at=_maybe(r["expires_at"]),
                    note=r["note"] or "",
                )
                for r in rows
            ]

    async def revoke(self, now: datetime, *, account_id: str = "", grant_id: str = "") -> int:
        """End the live grants of an account, or one grant, now; how many were live.

        A revoked grant keeps its row (who was given access, why, until when):
        its end is set to the moment of revoking.
        """
        if not (account_id or grant_id):
            raise ValueError("name the account or the grant to revoke")
        now = now.astimezone(UTC)
        grants = complimentary_grants.c
        where = [or_(grants.expires_at.is_(None), grants.expires_at > now)]
        if account_id:
            where.append(grants.account_id == account_id)
        if grant_id:
            where.append(grants.id == grant_id)
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(complimentary_grants).where(*where).values(expires_at=now)
            )
        return int(result.rowcount or 0)

    async def complimentary_until(self, account_id: str, now: datetime) -> datetime | None:
        """The end of the account's longest live grant (``datetime.max`` for an open one)."""
        now = now.astimezone(UTC)
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(complimentary_grants.c.expires_at).where(
                        complimentary_grants.c.account_id == account_id,
                        or_(
                            complimentary_grants.c.expires_at.is_(None),
                            complimentary_grants.c.expires_at > now,
                        ),
                    )
                )
            ).scalars()
            ends = [utc(r) if r is not None else datetime.max.replace(tzinfo=UTC) for r in rows]
        return max(ends, default=None)
