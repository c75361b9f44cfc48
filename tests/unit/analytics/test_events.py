"""Which events an article request records, and how reader ids become pseudonyms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterwall.access.model import Crawler, Granted, Metered, Paywall, Regwall
from meterwall.analytics.events import EventKind, Pseudonyms, decision_events


@pytest.mark.parametrize(
    ("decision", "kinds"),
    [
        (Metered(2, 5), (EventKind.PAGE_VIEW, EventKind.METER_NOTICE)),
        (Regwall(5, 5), (EventKind.PAGE_VIEW, EventKind.REGWALL_IMPRESSION)),
        (Paywall(5, 5), (EventKind.PAGE_VIEW, EventKind.PAYWALL_IMPRESSION)),
        (Paywall(0, 5, premium=True), (EventKind.PAGE_VIEW, EventKind.PAYWALL_IMPRESSION)),
        (Granted("subscription"), (EventKind.PAGE_VIEW,)),
        (Granted("free"), (EventKind.PAGE_VIEW,)),
        (Granted("gift"), (EventKind.PAGE_VIEW, EventKind.GIFT_LINK_OPENED)),
        (Crawler(), ()),
    ],
)
def test_decision_events(decision: object, kinds: tuple[EventKind, ...]) -> None:
    assert decision_events(decision) == kinds  # type: ignore[arg-type]


@given(st.text(min_size=1), st.text(min_size=1))
def test_pseudonyms_are_stable_keyed_and_hide_the_id(reader_a: str, reader_b: str) -> None:
    one, other = Pseudonyms("secret-one"), Pseudonyms("secret-two")
    assert one.of(reader_a) == Pseudonyms("secret-one").of(reader_a)
    assert len(one.of(reader_a)) == 32
    assert reader_a not in one.of(reader_a) or len(reader_a) < 3
    assert one.of(reader_a) != other.of(reader_a)
    if reader_a != reader_b:
        assert one.of(reader_a) != one.of(reader_b)


def test_a_pseudonym_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        Pseudonyms("")
