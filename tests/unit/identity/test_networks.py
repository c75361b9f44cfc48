"""Per-client limits count by network: an IPv4 address, or an IPv6 /64."""

from __future__ import annotations

import pytest

from meterwall.identity.networks import client_network


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("", ""),
        ("not an address", "not an address"),
    ],
)
def test_client_network(address: str, network: str) -> None:
    assert client_network(address) == network
