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
from collections import OrderedDict
from collections.abc import Sequence

from itsdangerous import BadSignature, Signer

_READER_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")


def new_reader_id() -> str:
    """A fresh random reader id (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


class ReaderCookie:
    """Signs and verifies reader ids with a list of secrets, newest first.

    The ``remember`` values verified last are kept with their reader ids
    (least recently used out), since a browser sends the same value with
    every request.  That is safe because a value's answer never changes for
    a given list of secrets: the signature carries no timestamp (the cookie
    ends only by its ``Max-Age`` in the browser), and the secrets are fixed
    for the life of the object.  Values that fail verification are not kept.
    """

    def __init__(self, secrets_newest_first: Sequence[str], remember: int = 16_384) -> None:
        if not secrets_newest_first or not all(secrets_newest_first):
            raise ValueError("at least one non-empty secret key is needed")
        # itsdangerous signs with the last key and accepts any of them.
        self._signer = Signer(
            list(reversed(secrets_newest_first)),
            salt="meterwall.reader",
            digest_method=hashlib.sha256,
        )
        self._remember = remember
        self._verified: OrderedDict[str, str] = OrderedDict()

    def sign(self, reader_id: str) -> str:
        """The cookie value for ``reader_id``."""
        return self._signer.sign(reader_id).decode("ascii")

    def verify(self, value: str | None) -> str | None:
        """The reader id in a cookie value, or ``None`` if it is missing or not ours."""
        if not value or len(value) > 200:
            return None
        known = self._verified.get(value)
        if known is not None:
            self._verified.move_to_end(value)
            return known
        try:
            reader_id = self._signer.unsign(value).decode("ascii")
        except (BadSignature, UnicodeError, ValueError):
            return None
        if not _READER_ID.match(reader_id):
            return None
        self._verified[value] = reader_id
        if len(self._verified) > self._remember:
            self._verified.popitem(last=False)
        return reader_id
