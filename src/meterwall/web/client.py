"""The request's own facts: the client's IP address (trusting the one forwarding header
the operator's proxy writes, and only from configured proxies), and the facts the
reader is resolved from."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache

from starlette.requests import Request

from meterwall.identity.readers import RequestFacts
from meterwall.settings import ClientIpHeader

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


def in_networks(address: str, networks: Sequence[str]) -> bool:
    """Whether ``address`` lies in one of ``networks`` (CIDRs); an unreadable address does not."""
    return _trusted(address, _networks(tuple(networks)))


def _forwarded(values: list[str]) -> list[str]:
    """The ``for=`` addresses of ``Forwarded`` header values, in order."""
    chain: list[str] = []
    for value in values:
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
    return chain


def _chain(request: Request, header: ClientIpHeader) -> list[str]:
    """The addresses named by ``header`` (only that one), nearest proxy last."""
    values = request.headers.getlist(header)
    if header == "forwarded":
        return _forwarded(values)
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def client_ip(request: Request, trusted_proxies: Sequence[str], header: ClientIpHeader) -> str:
    """The address of the client that made this request.

    The socket's peer is the answer unless it is a configured trusted proxy;
    then the chain in ``header`` (the one header the operator's proxy writes;
    the others are the client's and are ignored) is walked from the nearest
    hop back, skipping trusted proxies, and the first untrusted address is
    the client.
    """
    client = request.scope.get("client")
    peer: str = client[0] if client is not None else ""
    if not trusted_proxies:
        return peer
    networks = _networks(tuple(trusted_proxies))
    if not networks or not _trusted(peer, networks):
        return peer
    for hop in reversed(_chain(request, header)):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return peer


def _gift_token(request: Request) -> str | None:
    """``?gift=``, without parsing a query that cannot name it: a parameter is named
    ``gift`` only if those letters, or a percent-escape, are in the raw query."""
    query: bytes = request.scope.get("query_string", b"")
    if not query or (b"gift" not in query and b"%" not in query):
        return None
    return request.query_params.get("gift")


def request_facts(
    request: Request,
    reader_id: str,
    trusted_proxies: Sequence[str],
    now: datetime,
    article_id: str | None = None,
    *,
    ip: str | None = None,
    header: ClientIpHeader,
) -> RequestFacts:
    """What the server knows about this request, for resolving the reader.

    A gift token is read from ``?gift=`` only when the request is for an article.
    ``ip`` is :func:`client_ip` of this request when the caller already has it;
    otherwise it is read from ``header`` (see :func:`client_ip`).
    """
    user_agent = referer = None
    # One pass for both headers; the first of each counts, as in request.headers.get.
    for name, value in request.headers.raw:
        if name == b"user-agent":
            if user_agent is None:
                user_agent = value.decode("latin-1")
        elif name == b"referer" and referer is None:
            referer = value.decode("latin-1")
    return RequestFacts(
        reader_id=reader_id,
        client_ip=client_ip(request, trusted_proxies, header) if ip is None else ip,
        user_agent=user_agent or "",
        referer=referer or "",
        article_id=article_id,
        gift_token=_gift_token(request) if article_id is not None else None,
        now=now,
    )
