"""The reader cookie: a random reader id, signed by the server.

It is the only cookie meterwall sets.  The id is random (no personal data);
the signature (HMAC via itsdangerous) means a reader cannot pick someone
else's id or invent one.  Key rotation: the newest secret signs, every listed
secret still verifies.  Anything that does not verify is simply ignored and
the request is treated as coming from a new anonymous reader.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence

from itsdangerous import BadSignature, Signer

_READER_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")


def new_reader_id() -> str:
    """A fresh random reader id (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


class ReaderCookie:
    """Signs and verifies reader ids with a list of secrets, newest first."""

    def __init__(self, secrets_newest_first: Sequence[str]) -> None:
        if not secrets_newest_first or not all(secrets_newest_first):
            raise ValueError("at least one non-empty secret key is needed")
        # itsdangerous signs with the last key and accepts any of them.
        self._signer = Signer(
            list(reversed(secrets_newest_first)),
            salt="meterwall.reader",
            digest_method=hashlib.sha256,
        )

    def sign(self, reader_id: str) -> str:
        """The cookie value for ``reader_id``."""
        return self._signer.sign(reader_id).decode("ascii")

    def verify(self, value: str | None) -> str | None:
        """The reader id in a cookie value, or ``None`` if it is missing or not ours."""
        if not value or len(value) > 200:
            return None
        try:
            reader_id = self._signer.unsign(value).decode("ascii")
        except (BadSignature, UnicodeError, ValueError):
            return None
        return reader_id if _READER_ID.match(reader_id) else None
