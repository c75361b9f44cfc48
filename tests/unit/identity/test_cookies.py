"""The signed reader cookie: random ids, key rotation, tampering means a new reader."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import BadData, Signer
from itsdangerous.encoding import base64_decode

from meterwall.identity.cookies import ReaderCookie, new_reader_id
from meterwall.identity.csrf import CsrfTokens


def test_signed_id_round_trips() -> None:
    cookie = ReaderCookie(["k1"])
    reader = new_reader_id()
    assert cookie.verify(cookie.sign(reader)) == reader


def test_reader_ids_are_random_and_url_safe() -> None:
    ids = {new_reader_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 22 for i in ids)


def test_old_keys_still_verify_after_rotation_and_new_key_signs() -> None:
    old = ReaderCookie(["old"])
    rotated = ReaderCookie(["new", "old"])
    reader = new_reader_id()
    assert rotated.verify(old.sign(reader)) == reader
    assert old.verify(rotated.sign(reader)) is None


def test_a_value_signed_with_another_secret_is_rejected() -> None:
    assert ReaderCookie(["ours"]).verify(ReaderCookie(["theirs"]).sign(new_reader_id())) is None


def test_hand_made_ids_are_rejected_even_when_signed() -> None:
    cookie = ReaderCookie(["k"])
    assert cookie.verify(cookie.sign("subscriber=true")) is None


@given(st.text(max_size=300))
def test_any_garbage_is_no_reader_never_an_error(value: str) -> None:
    assert ReaderCookie(["k"]).verify(value) is None


@given(st.integers(0, 50), st.characters())
def test_flipping_any_character_invalidates(position: int, char: str) -> None:
    cookie = ReaderCookie(["k"])
    value = cookie.sign("A" * 22)
    position %= len(value)
    tampered = value[:position] + char + value[position + 1 :]
    if tampered != value:
        assert cookie.verify(tampered) in (None, "A" * 22)
        if position >= 22 and not _same_signature(tampered, value):
            assert cookie.verify(tampered) is None


def _same_signature(one: str, other: str) -> bool:
    """Whether two values carry the same signature bytes: the last base64 character
    of a signature has padding bits that decoding ignores."""
    try:
        return base64_decode(one.rsplit(".", 1)[1]) == base64_decode(other.rsplit(".", 1)[1])
    except (BadData, ValueError, IndexError):
        return False


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str | bytes]:
    """The values whose signature is actually checked (not answered from memory)."""
    seen: list[str | bytes] = []
    unsign = Signer.unsign

    def counting(self: Signer, value: str | bytes) -> bytes:
        seen.append(value)
        return unsign(self, value)

    monkeypatch.setattr(Signer, "unsign", counting)
    return seen


def test_a_remembered_value_gives_the_same_reader_and_tampering_still_fails(
    checked: list[str | bytes],
) -> None:
    cookie = ReaderCookie(["k"])
    reader = new_reader_id()
    value = cookie.sign(reader)
    assert [cookie.verify(value) for _ in range(3)] == [reader] * 3
    assert checked == [value], "checked once, then remembered"
    # The signature's first character (its last may carry only base64 padding bits).
    head, signature = value.rsplit(".", 1)
    tampered = f"{head}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert cookie.verify(tampered) is None
    assert ReaderCookie(["other"]).verify(value) is None, "memory never crosses secrets"
    assert ReaderCookie(["new"]).verify(value) is None, "a rotation that drops the key ends it"


def test_values_that_fail_are_checked_every_time(checked: list[str | bytes]) -> None:
    cookie = ReaderCookie(["k"])
    forged = ReaderCookie(["guess"]).sign(new_reader_id())
    checked.clear()
    assert [cookie.verify(forged) for _ in range(2)] == [None, None]
    assert checked == [forged, forged]


def test_remembered_values_are_bounded_least_recently_used_first_out(
    checked: list[str | bytes],
) -> None:
    cookie = ReaderCookie(["k"], remember=2)
    a, b, c = (cookie.sign(new_reader_id()) for _ in range(3))
    for value in (a, b, a, c):  # a is used again, so b is the one that leaves for c
        cookie.verify(value)
    checked.clear()
    for value in (a, c, b):
        assert cookie.verify(value) is not None
    assert checked == [b]


def test_csrf_tokens_are_bound_to_reader_and_purpose() -> None:
    tokens = CsrfTokens(["k"])
    token = tokens.token("reader-a", "forget")
    assert tokens.check("reader-a", "forget", token)
    assert not tokens.check("reader-b", "forget", token)
    assert not tokens.check("reader-a", "other", token)
    assert CsrfTokens(["new", "k"]).check("reader-a", "forget", token)
