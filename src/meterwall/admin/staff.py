"""Staff users, their sessions and failed sign-ins, in the configured database.

Staff are a role of their own, unrelated to reader accounts: created with
``meterwall admin create-user``, signed in with a password, and kept in
server-side sessions that expire after a few hours.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.admin.passwords import (
    check_strength,
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from meterwall.admin.totp import code_valid
from meterwall.identity.networks import client_network
from meterwall.storage.counters import Budget, Counters
from meterwall.storage.schema import staff_sessions, staff_users
from meterwall.storage.times import utc

FAILURE_WINDOW = timedelta(minutes=15)


class InvalidStaffEmail(ValueError):
    """Not an email address."""


class StaffExists(Exception):
    """A staff user with this email already exists."""


class TooManyAttempts(Exception):
    """Too many failed sign-ins for this email or from this address lately."""


def normalise_staff_email(raw: str) -> str:
    """A staff email trimmed and in lower case, or :class:`InvalidStaffEmail`."""
    email = raw.strip().casefold()
    local, at, domain = email.partition("@")
    if (
        not at
        or not local
        or "." not in domain
        or len(email) > 320
        or any(c.isspace() for c in email)
    ):
        raise InvalidStaffEmail(f"{raw.strip()!r} is not an email address")
    return email


@dataclass(frozen=True, slots=True)
class StaffUser:
    """A member of the publisher's team."""

    id: str
    email: str
    created_at: datetime
    last_login_at: datetime | None
    second_factor: bool = False


def _user(row: RowMapping) -> StaffUser:
    last = row["last_login_at"]
    return StaffUser(
        id=row["id"],
        email=row["email"],
        created_at=utc(row["created_at"]),
        last_login_at=utc(last) if last is not None else None,
        second_factor=row["totp_secret"] is not None,
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(f"meterwall.staff:{token}".encode()).hexdigest()


class StaffDirectory:
    """Staff users, sessions, second factors and the sign-in rate limit."""

    def __init__(self, engine: AsyncEngine, failures_allowed: int = 10) -> None:
        self._engine = engine
        self._counters = Counters(engine)
        self._per_email = Budget("staff-email", failures_allowed, FAILURE_WINDOW)
        self._per_network = Budget("staff-network", failures_allowed, FAILURE_WINDOW)

    async def _row(self, email: str) -> RowMapping | None:
        async with self._engine.connect() as conn:
            return (
                (await conn.execute(select(staff_users).where(staff_users.c.email == email)))
                .mappings()
                .first()
            )

    async def create(self, email: str, password: str, now: datetime) -> StaffUser:
        """A new staff user; :class:`StaffExists` if the email is taken."""
        email = normalise_staff_email(email)
        check_strength(password)
        digest = await anyio.to_thread.run_sync(hash_password, password)
        user = StaffUser(secrets.token_hex(16), email, now.astimezone(UTC), None)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    insert(staff_users).values(
                        id=user.id, email=email, password_hash=digest, created_at=user.created_at
                    )
                )
        except IntegrityError as exc:
            raise StaffExists(f"a staff user {email} already exists") from exc
        return user

    async def set_password(self, email: str, password: str) -> bool:
        """Change a staff user's password, clear their second factor (they enrol again, e.g.
        after losing the device) and end their sessions; whether the user exists."""
        email = normalise_staff_email(email)
        check_strength(password)
        digest = await anyio.to_thread.run_sync(hash_password, password)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(staff_users)
                .where(staff_users.c.email == email)
                .values(password_hash=digest, totp_secret=None)
            )
            await conn.execute(
                delete(staff_sessions).where(
                    staff_sessions.c.user_id.in_(
                        select(staff_users.c.id).where(staff_users.c.email == email)
                    )
                )
            )
        return result.rowcount == 1

    async def users(self) -> list[StaffUser]:
        """Every staff user, by email."""
        async with self._engine.connect() as conn:
            rows = (
                (await conn.execute(select(staff_users).order_by(staff_users.c.email)))
                .mappings()
                .all()
            )
        return [_user(r) for r in rows]

    async def authenticate(
        self, email: str, password: str, ip: str, now: datetime, code: object = None
    ) -> StaffUser:
        """The staff user these credentials name.

        Each attempt first takes one unit of the failure budgets of the email
        and of the client's network, atomically (see
        :mod:`meterwall.storage.counters`), and only then checks the password:
        however many guesses arrive at once, no more than the limit are
        checked.  A successful sign-in gives its unit back and clears the
        email's count.  Raises :class:`TooManyAttempts` when a budget is
        spent, and ``PermissionError`` for a wrong email, password or second
        factor code (the same error for all three).  A scrypt hash from an
        older version is replaced by an argon2id one on success.
        """
        try:
            email = normalise_staff_email(email)
        except InvalidStaffEmail:
            email = email.strip().casefold()[:320]
        network = client_network(ip)
        claims = [(self._per_email, email), (self._per_network, network)]
        if not await self._counters.take(claims, now):
            raise TooManyAttempts
        row = await self._row(email)
        stored = row["password_hash"] if row is not None else dummy_hash()
        ok = await anyio.to_thread.run_sync(verify_password, password, stored)
        if row is None or not ok:
            raise PermissionError("wrong email or password")
        secret = row["totp_secret"]
        if secret is not None and not code_valid(secret, code, now):
            raise PermissionError("wrong second factor code")
        await self._counters.reset(self._per_email, email, now)
        await self._counters.give_back(self._per_network, network, now)
        values: dict[str, object] = {"last_login_at": now.astimezone(UTC)}
        if needs_rehash(stored):
            values["password_hash"] = await anyio.to_thread.run_sync(hash_password, password)
        async with self._engine.begin() as conn:
            await conn.execute(
                update(staff_users).where(staff_users.c.id == row["id"]).values(**values)
            )
        return _user(row)

    async def enrol_totp(self, user: StaffUser, secret: str) -> None:
        """Require a code from ``secret`` at this staff member's future sign-ins."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(staff_users).where(staff_users.c.id == user.id).values(totp_secret=secret)
            )

    async def start_session(
        self, user: StaffUser, ip: str, now: datetime, lifetime: timedelta
    ) -> str:
        """A new session for ``user``; returns the token for the cookie (only its hash is kept)."""
        token = secrets.token_urlsafe(32)
        now = now.astimezone(UTC)
        async with self._engine.begin() as conn:
            await conn.execute(delete(staff_sessions).where(staff_sessions.c.expires_at < now))
            await conn.execute(
                insert(staff_sessions).values(
                    token_hash=_token_hash(token),
                    user_id=user.id,
                    ip=ip[:64],
                    created_at=now,
                    expires_at=now + lifetime,
                )
            )
        return token

    async def session_user(self, token: str, now: datetime) -> StaffUser | None:
        """The staff user of a live session token, if any."""
        query = (
            select(staff_users, staff_sessions.c.expires_at.label("session_expires_at"))
            .join(staff_sessions, staff_sessions.c.user_id == staff_users.c.id)
            .where(staff_sessions.c.token_hash == _token_hash(token))
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        if row is None or utc(row["session_expires_at"]) <= now:
            return None
        return _user(row)

    async def end_session(self, token: str) -> None:
        """End a session (sign out)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(staff_sessions).where(staff_sessions.c.token_hash == _token_hash(token))
            )
