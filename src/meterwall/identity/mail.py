"""Outgoing mail: the port, and the adapter chosen by settings.

``smtp`` sends through a real server (:mod:`meterwall.identity.smtp`);
``dev`` keeps messages in memory and prints them, for the demo
(:mod:`meterwall.identity.devmail`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from meterwall.settings import MailSettings


@dataclass(frozen=True, slots=True)
class Message:
    """A plain-text email."""

    to: str
    subject: str
    text: str
    sent_at: datetime | None = field(default=None, compare=False)


class MailError(Exception):
    """The message could not be handed to the mail server."""


class Mailer(Protocol):
    """Something that delivers :class:`Message` objects."""

    async def send(self, message: Message) -> None:
        """Deliver ``message`` or raise :class:`MailError`."""
        ...


def build_mailer(settings: MailSettings) -> Mailer:
    """The mailer the settings ask for."""
    if settings.backend == "dev":
        from meterwall.identity.devmail import DevMailer

        return DevMailer()
    from meterwall.identity.smtp import SmtpMailer

    return SmtpMailer(settings)
