"""Reader accounts: one per email address, created on first login.

Glossary
--------
Account
    A registered reader, known by email.  Its meter is kept under
    :func:`meter_key`, so every browser where the reader signs in shares it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import RowMapping, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.storage.schema import accounts
from meterwall.storage.times import utc

_EMAIL = re.compile(
    r"^[^@\s<>\"',;]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
MAX_EMAIL_LENGTH = 254


class InvalidEmail(ValueError):
    """The text given is not an email address meterwall can send to."""


def normalise_email(raw: str) -> str:
    """The canonical form of an email address (trimmed, lower case), or :class:`InvalidEmail`."""
    email = raw.strip().casefold()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise InvalidEmail("Please enter a valid email address, such as name@example.com.")
    return email


_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def mailbox(email: str) -> str:
    """The inbox a (normalised) address delivers to, as limits on mail count it.

    A ``+tag`` is dropped (``a+1@`` and ``a+2@`` reach ``a@``), and for Gmail,
    which ignores dots and answers to two domains, dots go and the domain is
    ``gmail.com``.  Only limits use this; the account keeps the address typed.
    """
    local, _, domain = email.rpartition("@")
    local = local.partition("+")[0] or local
    if domain in _DOTLESS_DOMAINS:
        local = local.replace(".", "")
        domain = _DOTLESS_DOMAINS[domain]
    return f"{local}@{domain}"


def email_domain(email: str) -> str:
    """The domain part of an email address."""
    return email.rpartition("@")[2]


def meter_key(account_id: str) -> str:
    """The meter id of an account (never a valid reader-cookie id, so the two cannot clash)."""
    return f"acct:{account_id}"


@dataclass(frozen=True, slots=True)
class Account:
    """A registered reader."""

    id: str
    email: str
    created_at: datetime
    stripe_customer_id: str | None = None


def _account(row: RowMapping) -> Account:
    return Account(
        id=row["id"],
        email=row["email"],
        created_at=utc(row["created_at"]),
        stripe_customer_id=row["stripe_customer_id"],
    )


class AccountStore:
    """Accounts in the configured database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def by_id(self, account_id: str) -> Account | None:
        """The account with this id, if any."""
        async with self._engine.connect() as conn:
            row = (
                (await conn.execute(select(accounts).where(accounts.c.id == account_id)))
                .mappings()
                .first()
            )
        return _account(row) if row else None

    async def by_email(self, email: str) -> Account | None:
        """The account with this (normalised) email, if any."""
        async with self._engine.connect() as conn:
            row = (
                (await conn.execute(select(accounts).where(accounts.c.email == email)))
                .mappings()
                .first()
            )
        return _account(row) if row else None

    async def by_customer(self, customer_id: str) -> Account | None:
        """The account linked to this Stripe customer, if any."""
        async with self._engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(accounts).where(accounts.c.stripe_customer_id == customer_id)
                    )
                )
                .mappings()
                .first()
            )
        return _account(row) if row else None

    async def get_or_create(self, email: str, now: datetime) -> Account:
        """The account for ``email`` (normalised), created if it is new."""
        found = await self.by_email(email)
        if found is not None:
            return found
        account = Account(id=secrets.token_hex(16), email=email, created_at=now.astimezone(UTC))
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    accounts.insert().values(
                        id=account.id, email=account.email, created_at=account.created_at
                    )
                )
        except IntegrityError:
            # Two first logins for one address at once: the other one won.
            again = await self.by_email(email)
            if again is None:
                raise
            return again
        return account

    async def set_customer(self, account_id: str, customer_id: str) -> None:
        """Link the account to its Stripe customer."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(accounts)
                .where(accounts.c.id == account_id)
                .values(stripe_customer_id=customer_id)
            )

    async def all(self) -> list[Account]:
        """Every account (for reconciliation)."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(accounts).order_by(accounts.c.created_at))).mappings()
            return [_account(r) for r in rows]
