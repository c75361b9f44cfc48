"""Staff passwords, hashed with scrypt from the standard library.

Stored as ``scrypt$n$r$p$salt$hash`` (base64), so the cost can be raised
later while old hashes still verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

N, R, P = 2**14, 8, 1
MIN_LENGTH = 10
MAX_LENGTH = 1_024


class WeakPassword(ValueError):
    """A password too short or too long to accept."""


def check_strength(password: str) -> None:
    """Raise :class:`WeakPassword` unless ``password`` is acceptable."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a staff password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a staff password may have at most {MAX_LENGTH} characters")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r, dklen=32)


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``."""
    salt = secrets.token_bytes(16)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(_derive(password, salt, N, R, P))}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; a malformed hash never matches."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        derived = _derive(password, base64.b64decode(salt), int(n), int(r), int(p))
        return hmac.compare_digest(derived, base64.b64decode(expected))
    except (ValueError, TypeError):
        return False


@cache
def dummy_hash() -> str:
    """Checked against when the email is unknown, so timing does not reveal which emails exist."""
    return hash_password(secrets.token_urlsafe(16))
