"""CSRF tokens bound to the reader, for the few forms that change state."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence


class CsrfTokens:
    """HMAC tokens of (purpose, reader id); any listed secret verifies, the newest signs."""

    def __init__(self, secrets_newest_first: Sequence[str]) -> None:
        self._keys = [k.encode() for k in secrets_newest_first]

    def _mac(self, key: bytes, reader_id: str, purpose: str) -> str:
        message = f"meterwall.csrf:{purpose}:{reader_id}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def token(self, reader_id: str, purpose: str) -> str:
        """The token a form for ``purpose`` carries for this reader."""
        return self._mac(self._keys[0], reader_id, purpose)

    def check(self, reader_id: str, purpose: str, token: str) -> bool:
        """Whether ``token`` was issued to this reader for ``purpose``.

        Compared as bytes: ``compare_digest`` refuses a non-ASCII ``str``, and a
        forged token of any characters is simply a wrong token.
        """
        given = token.encode("utf-8", "surrogateescape")
        return any(
            hmac.compare_digest(self._mac(key, reader_id, purpose).encode(), given)
            for key in self._keys
        )
