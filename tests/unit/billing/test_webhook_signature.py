"""Stripe-Signature verification: HMAC-SHA256 over ``t.body``, 5-minute tolerance, several v1."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterwall.billing.webhooks import SignatureError, signature_header, verify_signature

SECRET = "whsec_unit"
NOW = 1_800_000_000


@given(st.binary(max_size=300))
def test_a_genuine_signature_verifies(body: bytes) -> None:
    verify_signature(body, signature_header(body, SECRET, NOW), [SECRET], NOW)


@given(st.binary(min_size=1, max_size=200), st.data())
def test_any_change_to_the_body_fails(body: bytes, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(body) - 1))
    flipped = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
    with pytest.raises(SignatureError):
        verify_signature(flipped, signature_header(body, SECRET, NOW), [SECRET], NOW)


@given(st.integers(-10_000, 10_000))
def test_only_timestamps_within_five_minutes_pass(offset: int) -> None:
    header = signature_header(b"{}", SECRET, NOW + offset)
    if abs(offset) <= 300:
        verify_signature(b"{}", header, [SECRET], NOW)
    else:
        with pytest.raises(SignatureError):
            verify_signature(b"{}", header, [SECRET], NOW)


def test_any_of_several_v1_values_and_any_configured_secret() -> None:
    body = b'{"id": "evt_1"}'
    good = signature_header(body, SECRET, NOW).split(",")[1]
    header = f"t={NOW},v1={'0' * 64},{good},v0=abc"
    verify_signature(body, header, ["whsec_old", SECRET], NOW)
    with pytest.raises(SignatureError):
        verify_signature(body, header, ["whsec_old"], NOW)


@pytest.mark.parametrize(
    "header", [None, "", "t=abc,v1=00", "v1=00", f"t={NOW}", f"t={NOW},v1=", "garbage"]
)
def test_malformed_headers_fail(header: str | None) -> None:
    with pytest.raises(SignatureError):
        verify_signature(b"{}", header, [SECRET], NOW)


def test_no_configured_secret_means_nothing_verifies() -> None:
    with pytest.raises(SignatureError):
        verify_signature(b"{}", signature_header(b"{}", SECRET, NOW), [], NOW)
