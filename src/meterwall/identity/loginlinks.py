"""Passwordless login: single-use links sent by email.

A link carries a random token; only its SHA-256 is stored.  Opening the link
(GET) shows a confirmation page and changes nothing, so mail scanners that
fetch every link cannot use it up; the reader's POST from that page consumes
it.  Tokens expire after a few minutes, are used once, and are rate limited
per inbox and per client network.  The link is built from the configured public
URL, never from the request's Host header.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.identity.accounts import mailbox
from meterwall.identity.networks import client_network
from meterwall.settings import AccountSettings
from meterwall.storage.counters import Budget, Counters
from meterwall.storage.schema import login_tokens
from meterwall.storage.times import utc

_TOKEN_LENGTH = 43


class TooManyLinks(Exception):
    """Too many login links were asked for this address or from this network lately."""


@dataclass(frozen=True, slots=True)
class LoginToken:
    """A pending login: who asked, and where to go afterwards."""

    email: str
    next_path: str
    expires_at: datetime


def token_hash(token: str) -> str:
    """What is stored for a token."""
    return hashlib.sha256(f"meterwall.login:{token}".encode()).hexdigest()


def safe_next(path: str | None, default: str = "/account") -> str:
    """A local path to return to after login; anything else (``//evil``, URLs) is the default."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    if any(ord(c) < 32 for c in path) or len(path) > 500:
        return default
    return path


class LoginLinks:
    """Issues, checks and consumes login tokens."""

    def __init__(self, engine: AsyncEngine, settings: AccountSettings, public_url: str) -> None:
        self._engine = engine
        self._settings = settings
        self._public_url = public_url.rstrip("/")
        self._counters = Counters(engine)
        hour, day = timedelta(hours=1), timedelta(days=1)
        self._per_inbox_hour = Budget("login-inbox", settings.login_links_per_email_per_hour, hour)
        self._per_inbox_day = Budget("login-inbox-day", settings.login_links_per_inbox_per_day, day)
        self._per_network_hour = Budget("login-network", settings.login_links_per_ip_per_hour, hour)

    def url(self, token: str) -> str:
        """The link to send: always on the configured public URL."""
        return f"{self._public_url}/account/confirm?token={token}"

    async def issue(self, email: str, ip: str, next_path: str, now: datetime) -> str:
        """A new token for ``email``; :class:`TooManyLinks` past the limits.

        The limits (per inbox per hour and per day, per client network per
        hour) are taken atomically before the token exists, so a burst of
        parallel requests sends no more mail than they allow.
        """
        now = now.astimezone(UTC)
        inbox = mailbox(email)
        claims = [
            (self._per_inbox_hour, inbox),
            (self._per_inbox_day, inbox),
            (self._per_network_hour, client_network(ip)),
        ]
        if not await self._counters.take(claims, now):
            raise TooManyLinks
        token = secrets.token_urlsafe(32)
        async with self._engine.begin() as conn:
            await conn.execute(
                login_tokens.insert().values(
                    token_hash=token_hash(token),
                    email=email,
                    ip=ip[:64],
                    next_path=safe_next(next_path),
                    created_at=now,
                    expires_at=now + timedelta(minutes=self._settings.login_link_minutes),
                )
            )
        return token

    async def peek(self, token: str, now: datetime) -> LoginToken | None:
        """The pending login for ``token`` if it is still usable; changes nothing."""
        if len(token) != _TOKEN_LENGTH:
            return None
        async with self._engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(login_tokens).where(login_tokens.c.token_hash == token_hash(token))
                    )
                )
                .mappings()
                .first()
            )
        if row is None or row["used_at"] is not None or utc(row["expires_at"]) <= now:
            return None
        return LoginToken(row["email"], row["next_path"], utc(row["expires_at"]))

    async def consume(self, token: str, now: datetime) -> LoginToken | None:
        """Use ``token`` up; ``None`` if it is unknown, used or expired (one winner if raced)."""
        found = await self.peek(token, now)
        if found is None:
            return None
        now = now.astimezone(UTC)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(login_tokens)
                .where(
                    login_tokens.c.token_hash == token_hash(token),
                    login_tokens.c.used_at.is_(None),
                    login_tokens.c.expires_at > now,
                )
                .values(used_at=now)
            )
        return found if result.rowcount == 1 else None

    async def purge_expired(self, now: datetime) -> int:
        """Forget tokens older than a day (they expire after ten minutes; the day lets the
        hourly and daily limits read them first): the housekeeping round calls this."""
        return await self.purge(now)

    async def purge(self, now: datetime) -> int:
        """Forget tokens older than a day."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(login_tokens).where(
                    login_tokens.c.created_at < now.astimezone(UTC) - timedelta(days=1)
                )
            )
        return int(result.rowcount or 0)
