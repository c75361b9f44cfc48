"""Staff passwords: salted argon2id at OWASP's parameters, old scrypt hashes still verify,
malformed hashes never match."""

from __future__ import annotations

import base64
import hashlib

import pytest

from meterwall.admin.passwords import (
    WeakPassword,
    check_strength,
    hash_password,
    needs_rehash,
    verify_password,
)


def scrypt_hash(password: str) -> str:
    """A hash as versions before argon2id stored them."""
    salt = b"0123456789abcdef"
    derived = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    encode = base64.b64encode
    return f"scrypt$16384$8$1${encode(salt).decode()}${encode(derived).decode()}"


def test_a_password_verifies_and_nothing_else_does() -> None:
    stored = hash_password("a long staff password")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "a long staff password" not in stored
    assert verify_password("a long staff password", stored)
    assert not verify_password("a long staff passwort", stored)
    assert hash_password("a long staff password") != stored  # salted


@pytest.mark.parametrize(
    "stored", ["", "plain", "scrypt$x$8$1$AAAA$AAAA", "bcrypt$1$2$3$4$5", "scrypt$16384$8$1$%%$%%"]
)
def test_malformed_hashes_never_match(stored: str) -> None:
    assert not verify_password("anything at all", stored)


def test_strength() -> None:
    check_strength("ten chars!")
    with pytest.raises(WeakPassword, match="at least 10"):
        check_strength("short")
    with pytest.raises(WeakPassword, match="at most"):
        check_strength("x" * 2_000)
    assert not verify_password("x" * 2_000, hash_password("ten chars!"))


def test_old_scrypt_hashes_verify_and_ask_to_be_rehashed() -> None:
    old = scrypt_hash("a long staff password")
    assert verify_password("a long staff password", old)
    assert not verify_password("a long staff passwort", old)
    assert needs_rehash(old)
    assert not needs_rehash(hash_password("a long staff password"))
    assert needs_rehash("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g")
