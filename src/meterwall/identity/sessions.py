"""Server-side sessions, bound to the reader cookie.

The reader cookie stays the only cookie.  A session row is keyed by a hash of
the reader id in that cookie; the id is replaced at login and at logout, so a
reader id known before login (planted by someone else, say) never becomes a
signed-in one.  Sessions are listed on the account page with their device and
when they were last seen, and each can be ended there; an optional cap ends
the least recently seen sessions of an account beyond it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import RowMapping, delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.settings import AccountSettings
from meterwall.storage.schema import sessions
from meterwall.storage.times import utc
from meterwall.storage.transactions import write_transaction

_TOUCH_EVERY = timedelta(minutes=5)

_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def device_name(user_agent: str) -> str:
    """A short, human description of a browser: ``Firefox on Linux``."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "")
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or system
    cleaned = re.sub(r"[^\x20-\x7e]", "", user_agent).strip()
    return cleaned[:60] or "Unknown device"


def session_key(reader_id: str) -> str:
    """What a session row stores of the reader id that opens it."""
    return hashlib.sha256(f"meterwall.session:{reader_id}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    """One signed-in browser."""

    id: str
    account_id: str
    device: str
    ip: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def _session(row: RowMapping) -> Session:
    return Session(
        id=row["id"],
        account_id=row["account_id"],
        device=row["device"],
        ip=row["ip"],
        created_at=utc(row["created_at"]),
        last_seen_at=utc(row["last_seen_at"]),
        expires_at=utc(row["expires_at"]),
    )


class SessionStore:
    """Sessions in the configured database."""

    def __init__(self, engine: AsyncEngine, settings: AccountSettings) -> None:
        self._engine = engine
        self._settings = settings

    async def start(
        self, account_id: str, reader_id: str, user_agent: str, ip: str, now: datetime
    ) -> Session:
        """Sign ``reader_id`` (a fresh one) in to the account, ending sessions beyond the cap."""
        now = now.astimezone(UTC)
        session = Session(
            id=secrets.token_hex(16),
            account_id=account_id,
            device=device_name(user_agent),
            ip=ip[:64],
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(days=self._settings.session_days),
        )
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                sessions.insert().values(
                    id=session.id,
                    key_hash=session_key(reader_id),
                    account_id=account_id,
                    device=session.device,
                    ip=session.ip,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=session.expires_at,
                )
            )
            cap = self._settings.max_sessions
            if cap:
                rows = (
                    await conn.execute(
                        select(sessions.c.id)
                        .where(sessions.c.account_id == account_id)
                        .order_by(sessions.c.last_seen_at.desc(), sessions.c.created_at.desc())
                    )
                ).all()
                surplus = [r.id for r in rows if r.id != session.id][cap - 1 :]
                if surplus:
                    await conn.execute(delete(sessions).where(sessions.c.id.in_(surplus)))
        return session

    async def lookup(self, reader_id: str, now: datetime) -> Session | None:
        """The live session of this reader id, refreshing its last-seen time now and then."""
        async with self._engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(sessions).where(sessions.c.key_hash == session_key(reader_id))
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        found = _session(row)
        if found.expires_at <= now:
            await self.end(found.account_id, found.id)
            return None
        if now - found.last_seen_at >= _TOUCH_EVERY:
            async with self._engine.begin() as conn:
                await conn.execute(
                    update(sessions)
                    .where(sessions.c.id == found.id)
                    .values(last_seen_at=now.astimezone(UTC))
                )
        return found

    async def of_account(self, account_id: str) -> list[Session]:
        """The account's sessions, most recently seen first."""
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(sessions)
                    .where(sessions.c.account_id == account_id)
                    .order_by(sessions.c.last_seen_at.desc())
                )
            ).mappings()
            return [_session(r) for r in rows]

    async def end(self, account_id: str, session_id: str) -> bool:
        """End one of the account's sessions; whether it existed."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(sessions).where(
                    sessions.c.id == session_id, sessions.c.account_id == account_id
                )
            )
        return result.rowcount == 1

    async def end_others(self, account_id: str, keep_id: str) -> int:
        """End every session of the account but ``keep_id``; how many ended."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(sessions).where(
                    sessions.c.account_id == account_id, sessions.c.id != keep_id
                )
            )
        return int(result.rowcount or 0)

    async def end_reader(self, reader_id: str) -> None:
        """End the session of this reader id (logout)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(sessions).where(sessions.c.key_hash == session_key(reader_id))
            )
