"""Talking to the publisher's site: which headers go upstream, which come back, rewritten.

Hop-by-hop headers never cross the proxy; forwarding headers are set by
meterwall from what it knows (never copied from the client); the reader
cookie stays with meterwall; ``Location``, ``Content-Location``, ``Link`` and
``Set-Cookie`` are rewritten so the upstream's own address never reaches the
reader.  Only encodings meterwall can decode are offered upstream, so every
page it must read can be read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import httpx

from meterwall.gateway.origin import rewriter

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_CLIENT_ONLY = frozenset(
    {"host", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "forwarded", "x-real-ip"}
)
_CONDITIONAL = frozenset({"range", "if-range", "if-none-match", "if-modified-since", "if-match"})
_NOT_FORWARDED = HOP_BY_HOP | _CLIENT_ONLY | {"content-length"}
_NOT_FORWARDED_UNCONDITIONAL = _NOT_FORWARDED | _CONDITIONAL
DECODABLE = ("gzip", "deflate")
"""Content encodings meterwall can read (and so may accept from the upstream)."""


def _connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    tokens: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            tokens |= {t.strip().lower() for t in value.split(",") if t.strip()}
    return tokens


def _accept_encoding(value: str) -> str:
    offered = {part.split(";")[0].strip().lower() for part in value.split(",")}
    usable = [e for e in DECODABLE if e in offered]
    return ", ".join(usable) if usable else "identity"


_remembered_accept_encoding = lru_cache(maxsize=256)(_accept_encoding)
"""Browsers send few distinct ``Accept-Encoding`` values, and every request has one."""


def _forwarded_encoding(value: str) -> str:
    return _remembered_accept_encoding(value) if len(value) <= 256 else _accept_encoding(value)


def _without_cookie(value: str, name: str) -> str:
    kept = []
    for part in value.split(";"):
        part = part.strip()
        if part and part.partition("=")[0].rstrip() != name:
            kept.append(part)
    return "; ".join(kept)


@dataclass(frozen=True, slots=True)
class Forwarding:
    """What meterwall tells the upstream about the request it forwards."""

    client_ip: str
    public_host: str
    public_scheme: str
    upstream_host: str
    preserve_host: bool
    reader_cookie: str


def request_headers(
    incoming: Iterable[tuple[str, str]], forwarding: Forwarding, *, unconditional: bool = False
) -> list[tuple[str, str]]:
    """The headers to send upstream for a client request with ``incoming`` headers.

    ``unconditional`` drops ``Range`` and the conditional headers, for a
    refetch of a page that must be read whole.
    """
    drop = _NOT_FORWARDED_UNCONDITIONAL if unconditional else _NOT_FORWARDED
    out: list[tuple[str, str]] = []
    connection: list[tuple[str, str]] = []
    encoding = False
    for name, value in incoming:
        lower = name.lower()
        if lower in drop:
            if lower == "connection":
                connection.append((lower, value))
            continue
        if lower == "accept-encoding":
            value = _forwarded_encoding(value)
            encoding = True
        elif lower == "cookie":
            value = _without_cookie(value, forwarding.reader_cookie)
            if not value:
                continue
        out.append((lower, value))
    # Headers the Connection header names are hop-by-hop too ("keep-alive", usually
    # dropped already): taken out afterwards, so the common request is read once.
    named = _connection_tokens(connection) - drop if connection else None
    if named:
        out = [(name, value) for name, value in out if name not in named]
        encoding = encoding and "accept-encoding" not in named
    if not encoding:
        out.append(("accept-encoding", "identity"))
    host = forwarding.public_host if forwarding.preserve_host else forwarding.upstream_host
    out.append(("host", host))
    if forwarding.client_ip:
        out.append(("x-forwarded-for", forwarding.client_ip))
    out.append(("x-forwarded-host", forwarding.public_host))
    out.append(("x-forwarded-proto", forwarding.public_scheme))
    return out


def _rewrite_cookie(value: str, upstream_host: str) -> str:
    """``Set-Cookie`` without a ``Domain`` naming the upstream host (so it binds to ours)."""
    parts = [p.strip() for p in value.split(";")]
    kept = [parts[0]]
    for attribute in parts[1:]:
        name, _, domain = attribute.partition("=")
        if name.strip().lower() == "domain":
            host = domain.strip().lstrip(".").lower()
            if host == upstream_host.lower() or upstream_host.lower().endswith("." + host):
                continue
        if attribute:
            kept.append(attribute)
    return "; ".join(kept)


def public_location(location: str, upstream_origin: str, public_origin: str) -> str:
    """A redirect target with the upstream's origin replaced by the public one."""
    for origin in (upstream_origin, upstream_origin.replace("://", "://www.", 1)):
        if location == origin or location.startswith((origin + "/", origin + "?", origin + "#")):
            return public_origin + location[len(origin) :]
    if location.startswith("//"):
        parts = urlsplit("http:" + location)
        if parts.netloc == urlsplit(upstream_origin).netloc:
            return public_origin + location[2 + len(parts.netloc) :]
    return location


def response_headers(
    upstream: httpx.Headers,
    upstream_origin: str,
    public_origin: str,
    *,
    drop: Iterable[str] = (),
) -> list[tuple[str, str]]:
    """The upstream's response headers as the reader should get them."""
    items = list(upstream.multi_items())
    removed = HOP_BY_HOP | _connection_tokens(items) | {d.lower() for d in drop}
    upstream_host = urlsplit(upstream_origin).hostname or ""
    out: list[tuple[str, str]] = []
    for name, value in items:
        lower = name.lower()
        if lower in removed:
            continue
        if lower in ("location", "content-location"):
            value = public_location(value, upstream_origin, public_origin)
        elif lower == "link":
            value = rewriter(upstream_origin, public_origin).text(value)
        elif lower == "set-cookie":
            value = _rewrite_cookie(value, upstream_host)
        out.append((lower, value))
    return out


def media_type(headers: httpx.Headers) -> str:
    """The response's media type, lower-case, without parameters."""
    value: str = headers.get("content-type", "")
    return value.split(";")[0].strip().lower()


def charset(headers: httpx.Headers) -> str | None:
    """The charset named by the ``Content-Type`` header, if any."""
    content_type: str = headers.get("content-type", "")
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"').lower()
    return None


class UpstreamError(Exception):
    """The upstream could not be reached or answered something meterwall cannot read."""


class Upstream:
    """The HTTP client for the publisher's site."""

    def __init__(self, base_url: str, timeout: float, client: httpx.AsyncClient | None = None):
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            trust_env=False,
        )

    @property
    def host(self) -> str:
        """The upstream's ``host[:port]``."""
        return urlsplit(self.base_url).netloc

    async def open(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | None = None,
    ) -> httpx.Response:
        """Send a request for ``target`` (path and query) and return the streaming response."""
        request = self.client.build_request(
            method, self.base_url + target, headers=headers, content=body
        )
        try:
            return await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"the upstream site did not answer: {exc}") from exc

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()
