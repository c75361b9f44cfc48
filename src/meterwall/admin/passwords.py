"""Staff passwords, hashed with argon2id at OWASP's recommended parameters.

New hashes are argon2id (19 MiB of memory, 2 passes, 1 lane: the first of
OWASP's equivalent settings).  Hashes from before, ``scrypt$n$r$p$salt$hash``,
still verify, and :func:`needs_rehash` says when a stored hash should be
replaced at the next successful sign-in (an old scheme or older parameters).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 1_024

_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1, type=Type.ID)


class WeakPassword(ValueError):
    """A password too short or too long to accept."""


def check_strength(password: str) -> None:
    """Raise :class:`WeakPassword` unless ``password`` is acceptable."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a staff password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a staff password may have at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    """A salted argon2id hash of ``password``."""
    return _HASHER.hash(password)


def _verify_scrypt(password: str, stored: str) -> bool:
    scheme, n, r, p, salt, expected = stored.split("$")
    if scheme != "scrypt":
        return False
    n_, r_, p_ = int(n), int(r), int(p)
    derived = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(salt),
        n=n_,
        r=r_,
        p=p_,
        maxmem=256 * n_ * r_,
        dklen=32,
    )
    return hmac.compare_digest(derived, base64.b64decode(expected))


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; a malformed hash never matches."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        if stored.startswith("$argon2"):
            return _HASHER.verify(stored, password)
        return _verify_scrypt(password, stored)
    except (VerificationError, InvalidHashError, ValueError, TypeError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` is of an older scheme or weaker parameters than new hashes."""
    if not stored.startswith("$argon2"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


@cache
def dummy_hash() -> str:
    """Checked against when the email is unknown, so timing does not reveal which emails exist."""
    return hash_password(secrets.token_urlsafe(16))
