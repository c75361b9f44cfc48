"""The inbox an address reaches: what limits on login e-mails count by."""

from __future__ import annotations

import pytest

from meterwall.identity.accounts import mailbox


@pytest.mark.parametrize(
    ("email", "inbox"),
    [
        ("reader@example.com", "reader@example.com"),
        ("reader+news@example.com", "reader@example.com"),
        ("first.last@example.com", "first.last@example.com"),
        ("first.last+1@gmail.com", "firstlast@gmail.com"),
        ("f.i.r.s.t@googlemail.com", "first@gmail.com"),
        ("+only@example.com", "+only@example.com"),
    ],
)
def test_mailbox_is_the_inbox_an_address_reaches(email: str, inbox: str) -> None:
    assert mailbox(email) == inbox
