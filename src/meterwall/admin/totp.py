"""Staff second factor: time-based one-time codes (RFC 6238) from an authenticator app.

A staff member enrols by adding the secret (shown as text and as an
``otpauth://`` URI) to their app and typing one code back; from then on a
sign-in needs the password and a current code.  A code from the step before
or after the current one is accepted, for clocks a little apart.
"""

from __future__ import annotations

from datetime import datetime

import pyotp

ISSUER = "meterwall"


def new_secret() -> str:
    """A fresh random base32 secret."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str, issuer: str = ISSUER) -> str:
    """The ``otpauth://`` URI authenticator apps import."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def code_valid(secret: str, code: object, now: datetime) -> bool:
    """Whether ``code`` is the secret's code at ``now`` (or one step either side)."""
    if not isinstance(code, str):
        return False
    digits = code.replace(" ", "").strip()
    if len(digits) != 6 or not digits.isdigit():
        return False
    return pyotp.TOTP(secret).verify(digits, for_time=now, valid_window=1)
