"""How offers are presented, and which offers settings accept."""

from __future__ import annotations

from decimal import Decimal

import pytest

from meterwall.settings import OfferSettings, SettingsError, load_settings
from meterwall.web.views import money, offer_view


def test_reference_offer_reads_like_the_seed_page() -> None:
    assert offer_view(OfferSettings()).line == "Unlimited digital access $11/month."


def test_prices_show_cents_only_when_there_are_some() -> None:
    assert money(Decimal("11"), "USD") == "$11"
    assert money(Decimal("11.5"), "USD") == "$11.50"
    assert money(Decimal("99"), "SEK") == "SEK 99"


def test_intro_price_is_promised_for_the_one_period_it_is_charged() -> None:
    offer = OfferSettings(intro_price=Decimal("1"), intro_periods=1)
    assert offer_view(offer).intro == "$1/month for 1 month"


def test_a_longer_intro_period_is_refused_rather_than_promised() -> None:
    with pytest.raises(SettingsError, match="intro_periods"):
        load_settings(offers=[{"intro_price": "1", "intro_periods": 3}])
