"""A mailer for the demo and local development: messages go to the console and a page.

Nothing leaves the machine.  The newest messages are kept in memory and
listed at ``/dev/mailbox`` so a new user can follow a login link.
"""

from __future__ import annotations

import sys
from collections import deque
from dataclasses import replace
from datetime import UTC, datetime

from meterwall.identity.mail import Message


class DevMailer:
    """Keeps the last ``keep`` messages and prints each one."""

    def __init__(self, keep: int = 50, echo: bool = True) -> None:
        self._messages: deque[Message] = deque(maxlen=keep)
        self._echo = echo

    async def send(self, message: Message) -> None:
        """Print ``message`` and keep it for the mailbox page."""
        kept = replace(message, sent_at=datetime.now(UTC))
        self._messages.appendleft(kept)
        if self._echo:
            print(
                f"\n--- mail to {kept.to}: {kept.subject}\n{kept.text}\n---",
                file=sys.stderr,
                flush=True,
            )

    @property
    def messages(self) -> list[Message]:
        """Messages sent, newest first."""
        return list(self._messages)
