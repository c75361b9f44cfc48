"""Sending mail through an SMTP server (STARTTLS, implicit TLS or plain, with optional login)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

import anyio

from meterwall.identity.mail import MailError, Message
from meterwall.settings import MailSettings


class SmtpMailer:
    """A :class:`~meterwall.identity.mail.Mailer` on :mod:`smtplib`, run in a worker thread."""

    def __init__(self, settings: MailSettings) -> None:
        self._settings = settings

    def _build(self, message: Message) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self._settings.from_address
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Message-ID"] = make_msgid(domain=self._settings.from_address.rpartition("@")[2])
        email.set_content(message.text)
        return email

    def _send_now(self, message: Message) -> None:
        s = self._settings
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if s.tls == "ssl":
            client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=context)
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        with client:
            if s.tls == "starttls":
                client.starttls(context=context)
            if s.user:
                client.login(s.user, s.password.get_secret_value())
            client.send_message(self._build(message))

    async def send(self, message: Message) -> None:
        """Send ``message``; any SMTP or network failure becomes :class:`MailError`."""
        try:
            await anyio.to_thread.run_sync(self._send_now, message)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"could not send mail via {self._settings.host}: {exc}") from exc
