"""The client's IP address, trusting forwarding headers only from configured proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _forwarded_for(request: Request) -> list[str]:
    """Addresses named by ``X-Forwarded-For`` and ``Forwarded``, nearest proxy last."""
    chain: list[str] = []
    for value in request.headers.getlist("forwarded"):
        for element in value.split(","):
            for pair in element.split(";"):
                name, _, raw = pair.strip().partition("=")
                if name.lower() == "for" and raw:
                    host = raw.strip('"')
                    if host.startswith("["):
                        host = host[1 : host.find("]")]
                    elif host.count(":") == 1:
                        host = host.split(":")[0]
                    chain.append(host)
    for value in request.headers.getlist("x-forwarded-for"):
        chain.extend(part.strip() for part in value.split(",") if part.strip())
    return chain


def client_ip(request: Request, trusted_proxies: Sequence[str]) -> str:
    """The address of the client that made this request.

    The socket's peer is the answer unless it is a configured trusted proxy;
    then the forwarding chain is walked from the nearest hop back, skipping
    trusted proxies, and the first untrusted address is the client.
    """
    peer = request.client.host if request.client else ""
    networks = _networks(tuple(trusted_proxies))
    if not networks or not _trusted(peer, networks):
        return peer
    for hop in reversed(_forwarded_for(request)):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return peer
