"""Staff passwords: salted scrypt, checked in constant time, malformed hashes never match."""

from __future__ import annotations

import pytest

from meterwall.admin.passwords import WeakPassword, check_strength, hash_password, verify_password


def test_a_password_verifies_and_nothing_else_does() -> None:
    stored = hash_password("a long staff password")
    assert stored.startswith("scrypt$")
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
