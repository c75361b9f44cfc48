"""Remembering, per process, the reader ids that have no session.

Every page asks whether its reader is signed in, and almost every reader is
anonymous: without this, each page view costs a database round trip to learn
that again.  A session is only ever started for a fresh reader id, minted at
sign-in (see :mod:`meterwall.identity.sessions`), so a reader id found without
a session never gains one later and the answer can be kept.  Entries still
expire after ``ttl`` seconds (ten minutes: a returning reader costs about one
lookup per visit, not one every few page views), and :meth:`start` forgets
its id, so the cache stays safe even if that rule were relaxed.  Signed-in
readers are looked up every time: a session can end at any moment (sign-out
on another device, a session cap), and that must take effect at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.identity.sessions import Session, SessionStore
from meterwall.settings import AccountSettings


class AnonymousAwareSessionStore(SessionStore):
    """A :class:`SessionStore` that answers "no session" from memory for known anonymous ids."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: AccountSettings,
        ttl: float = 600.0,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(engine, settings)
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._anonymous: OrderedDict[str, float] = OrderedDict()

    async def lookup(self, reader_id: str, now: datetime) -> Session | None:
        """The live session of this reader id; no database trip for a known anonymous id."""
        moment = self._clock()
        until = self._anonymous.get(reader_id)
        if until is not None and until > moment:
            return None
        found = await super().lookup(reader_id, now)
        if found is not None:
            self._anonymous.pop(reader_id, None)
            return found
        self._anonymous[reader_id] = moment + self._ttl
        self._anonymous.move_to_end(reader_id)
        while len(self._anonymous) > self._max_entries:
            self._anonymous.popitem(last=False)
        return None

    async def start(
        self, account_id: str, reader_id: str, user_agent: str, ip: str, now: datetime
    ) -> Session:
        """Start a session as :class:`SessionStore` does, forgetting the id was anonymous."""
        self._anonymous.pop(reader_id, None)
        return await super().start(account_id, reader_id, user_agent, ip, now)
