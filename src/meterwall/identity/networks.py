"""The client network of an address: what per-client limits count by.

An IPv4 address is its own network; an IPv6 address counts by its /64, the
block one subscriber line or one host is normally given, so rotating through
the addresses of one's own block does not reset a limit.
"""

from __future__ import annotations

import ipaddress


def client_network(address: str) -> str:
    """``address`` as the network limits count it by (text that is no address stays as it is)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
