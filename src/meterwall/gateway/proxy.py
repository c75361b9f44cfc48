"""Reverse-proxy mode: the publisher's site, served through meterwall and gated on the server.

The flow for each request is three separate steps, so a cache can sit
between them (see :mod:`meterwall.gateway.page` and
:mod:`meterwall.gateway.cut`):

1. :meth:`Gateway.fetch` gets the upstream response (un-personalised), or
   the cache hands over its copy, already whole in memory;
2. :func:`~meterwall.gateway.page.analyse` recognises an article page;
3. :meth:`Gateway.render_article` decides for this reader and renders the
   prepared full-text or teaser page with the reader's banner or gate.

Everything that is not an article page (assets, front pages, search)
streams through unchanged.  Whatever goes wrong, a page that might be an
article is never passed through uncut: the reader gets a clear error page.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from meterwall.access.live import LivePolicy
from meterwall.access.model import Decision, shows_full_text
from meterwall.gateway.cache.entry import Entry
from meterwall.gateway.cache.factory import build_upstream_cache
from meterwall.gateway.cache.template import Template
from meterwall.gateway.compression import (
    TooLarge,
    UnknownEncoding,
    accepts_gzip,
    decompress,
    gzip_bytes,
)
from meterwall.gateway.config import PageRules
from meterwall.gateway.cut import Assets, prepare
from meterwall.gateway.feeds import FeedError, cut_feed, is_feed_type
from meterwall.gateway.insert import STYLESHEET_URL, Inserts, stylesheet
from meterwall.gateway.page import Page, analyse, normalise_url
from meterwall.gateway.schema import PAYWALLED_SELECTOR
from meterwall.gateway.tree import find, parse
from meterwall.gateway.upstream import (
    DECODABLE,
    Forwarding,
    Upstream,
    UpstreamError,
    charset,
    media_type,
    request_headers,
    response_headers,
)
from meterwall.web.client import client_ip, request_facts

if TYPE_CHECKING:
    from meterwall.app import Services

log = logging.getLogger(__name__)

PRIVATE = {"cache-control": "private, no-store", "vary": "Cookie, Accept-Encoding"}
"""Headers of every response that depends on who is reading."""
_PLAIN = (("content-type", "text/html; charset=utf-8"), *PRIVATE.items())
_GZIPPED = (*_PLAIN, ("content-encoding", "gzip"))

_HTML_TYPES = frozenset({"", "text/html", "application/xhtml+xml"})
_NO_BODY = frozenset({204, 304})
_REPLACED = (
    "content-length",
    "content-encoding",
    "content-type",
    "etag",
    "last-modified",
    "cache-control",
    "expires",
    "vary",
    "accept-ranges",
    "age",
    "content-md5",
    "digest",
)
_MAX_REQUEST_BODY = 32 * 1024 * 1024
# What Starlette's ``request.url`` changes in a request's path and query (request_target).
_URL_CHANGES_PATH = re.compile(r"[?#\\\t\r\n]")
_URL_CHANGES_QUERY = re.compile(rb"[#\t\r\n]")

Kind = Literal["stream", "html", "feed"]


@dataclass(frozen=True, slots=True)
class Fetched:
    """An upstream response read whole and decoded (pages that meterwall must read).

    ``copy`` is the cached upstream copy it came from (``None`` when it did
    not come from the cache), so work derived from it is done once per copy;
    a copy's ``headers`` carry no ``Age``, which is counted when it is served.
    """

    status: int
    headers: httpx.Headers
    body: bytes
    raw: bytes
    copy: Entry | None = None

    @property
    def version(self) -> str:
        """The version of the cached copy it came from ("" when it did not come from one)."""
        return self.copy.version if self.copy is not None else ""


@dataclass(frozen=True, slots=True)
class _CopyHeaders:
    """A cached copy's headers (``Content-Length``, no ``Age``) and what is read in them."""

    headers: httpx.Headers
    media_type: str
    encoding: str


def _error(status: int, title: str, detail: str) -> Response:
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><main>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(detail)}</p></main></body></html>"
    )
    return HTMLResponse(page, status_code=status, headers={"cache-control": "no-store"})


def _decode_html(body: bytes, declared: str | None) -> str:
    if declared:
        try:
            return body.decode(declared, errors="replace")
        except LookupError:
            pass
    head = body[:2048].decode("ascii", errors="ignore").lower()
    match = re.search(r"<meta[^>]+charset=[\"']?([a-z0-9_-]+)", head)
    if match:
        try:
            return body.decode(match.group(1), errors="replace")
        except LookupError:
            pass
    return body.decode("utf-8", errors="replace")


def request_target(request: Request) -> str:
    """The path and query a request is forwarded for: those of ``request.url``.

    Starlette's URL takes the decoded path (``%2F`` arrives as ``/``), escapes
    ``?``, ``#`` and ``\\`` in it, drops tabs and line breaks, ends the query at
    ``#``, and spells a path starting with ``//`` by whether the Host header is
    valid.  A plain path and query (one leading ``/``, none of those characters)
    come through all of that unchanged, so only other requests pay for building
    the URL (tested against it for any path, query, Host header and server).
    """
    scope = request.scope
    path: str = scope["path"]
    query: bytes = scope.get("query_string", b"")
    if (
        path[:1] != "/"
        or path[1:2] == "/"
        or _URL_CHANGES_PATH.search(path) is not None
        or (query and _URL_CHANGES_QUERY.search(query) is not None)
    ):
        url = request.url
        return url.path + (f"?{url.query}" if url.query else "")
    return f"{path}?{query.decode()}" if query else path


class Gateway:
    """Serves the upstream site through meterwall, gating its article pages."""

    def __init__(self, services: Services, upstream: Upstream | None = None) -> None:
        settings = services.settings
        proxy = settings.proxy
        self.services = services
        self.settings = settings
        self.rules = PageRules.from_settings(proxy, settings.public_url, settings.policy.lede_words)
        self.upstream = upstream or Upstream(proxy.upstream, proxy.timeout_seconds)
        self.cache = build_upstream_cache(settings, services.metrics.registry)
        self.inserts = Inserts(settings, services.templates.env)
        self.stylesheet = stylesheet(settings)
        self.assets = Assets(stylesheet=STYLESHEET_URL, amp_css=self.stylesheet)
        self._blocked = [re.compile(p) for p in proxy.blocked_paths]
        # "/x/" and "/x" both own "/x" and everything under "/x/".
        self._own_exact = frozenset(p.removesuffix("/") for p in proxy.own_paths)
        self._own_under = tuple(p if p.endswith("/") else p + "/" for p in proxy.own_paths)
        public = urlsplit(settings.public_url)
        self._public_host = public.netloc
        self._public_scheme = public.scheme

    def owns(self, path: str) -> bool:
        """Whether meterwall answers ``path`` itself rather than the upstream."""
        return path in self._own_exact or path.startswith(self._own_under)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self.handle(request)
        except UpstreamError as exc:
            log.warning("%s %s: %s", request.method, scope["path"], exc)
            response = _error(502, "The site is not answering", "Please try again in a moment.")
        except Exception:
            # Fail closed: whatever broke, nothing of the upstream page is passed on.
            # The path from the scope: building request.url can itself fail (a query
            # that is not UTF-8), and this must not.
            log.exception("proxying %s %s failed", request.method, scope["path"])
            response = _error(502, "This page could not be shown", "Please try again later.")
        await response(scope, receive, send)

    def _forwarding(self, request: Request) -> Forwarding:
        return Forwarding(
            client_ip=client_ip(request, self.settings.trusted_proxies),
            public_host=self._public_host,
            public_scheme=self._public_scheme,
            upstream_host=self.upstream.host,
            preserve_host=self.settings.proxy.preserve_host,
            reader_cookie=self.services.identity.name,
        )

    async def handle(self, request: Request) -> Response:
        """Answer one proxied request."""
        target = request_target(request)
        if any(p.search(target) for p in self._blocked):
            return _error(404, "Page not found", "There is no page at this address.")
        body = await self._request_body(request)
        if isinstance(body, Response):
            return body
        forwarding = self._forwarding(request)
        read = await self._read(request, target, body, forwarding)
        if isinstance(read, Response):
            return read
        kind, fetched = read
        if kind == "feed":
            return self._feed(fetched)
        url = self.settings.public_url + target
        try:
            page = self._analyse(fetched, url)
        except Exception:
            log.exception("could not analyse %s", target)
            return _error(502, "This page could not be shown", "Please try again later.")
        if page is None:
            return self._unchanged(fetched)
        return await self.render_article(request, page, fetched, forwarding.client_ip)

    async def _read(
        self, request: Request, target: str, body: bytes | None, forwarding: Forwarding
    ) -> tuple[Kind, Fetched] | Response:
        """The upstream's answer: a page meterwall must read (HTML or a feed), read whole,
        or the response that streams everything else through unchanged."""
        method = request.method
        incoming = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        answer = await self._open(method, target, request_headers(incoming, forwarding), body)
        if (
            isinstance(answer, httpx.Response)
            and answer.status_code == 206
            and self._kind(method, answer.status_code, media_type(answer.headers)) != "stream"
        ):
            # A range of a page meterwall must read whole: ask again for all of it.
            await answer.aclose()
            headers = request_headers(incoming, forwarding, unconditional=True)
            answer = await self._open(method, target, headers, body)
        if isinstance(answer, Entry):
            return self._read_copy(method, answer)
        kind = self._kind(method, answer.status_code, media_type(answer.headers))
        if kind == "stream":
            return self._stream(answer)
        fetched = await self.fetch(answer)
        if isinstance(fetched, Response):
            return fetched
        return kind, fetched

    def _read_copy(self, method: str, copy: Entry) -> tuple[Kind, Fetched] | Response:
        """A cached copy as :meth:`_read` gives it, without an HTTP response to read it from."""
        assert self.cache is not None
        read = self._copy_headers(copy)
        kind = self._kind(method, copy.status, read.media_type)
        if kind == "stream":
            return self._stream(self.cache.respond(copy, head=method == "HEAD"))
        fetched = self._fetched_copy(copy, read)
        if isinstance(fetched, Response):
            return fetched
        return kind, fetched

    async def _request_body(self, request: Request) -> bytes | Response | None:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > _MAX_REQUEST_BODY:
            return _error(413, "That request is too large", "Please send less data.")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > _MAX_REQUEST_BODY:
                return _error(413, "That request is too large", "Please send less data.")
            chunks.append(chunk)
        return b"".join(chunks)

    def _kind(self, method: str, status: int, media: str) -> Kind:
        if method == "HEAD" or status in _NO_BODY or status < 200:
            return "stream"
        if media in _HTML_TYPES:
            return "html"
        if is_feed_type(media):
            return "feed"
        return "stream"

    def _public_headers(
        self, upstream: httpx.Headers, drop: tuple[str, ...] = ()
    ) -> list[tuple[str, str]]:
        return response_headers(
            upstream, self.upstream.base_url, self.settings.public_url, drop=drop
        )

    def _stream(self, upstream: httpx.Response) -> Response:
        response = StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            background=BackgroundTask(upstream.aclose),
        )
        _replace_headers(response, self._public_headers(upstream.headers))
        return response

    async def fetch(self, upstream: httpx.Response) -> Fetched | Response:
        """Read a whole upstream response and decode it, within the configured size."""
        limit = self.settings.proxy.max_page_bytes
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in upstream.aiter_raw():
                size += len(chunk)
                if size > limit:
                    return _error(502, "This page is too large to show", "It exceeds the limit.")
                chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"the upstream site broke off: {exc}") from exc
        finally:
            await upstream.aclose()
        raw = b"".join(chunks)
        try:
            body = decompress(raw, upstream.headers.get("content-encoding", ""), limit)
        except (TooLarge, UnknownEncoding, ValueError) as exc:
            log.warning("cannot read upstream page: %s", exc)
            return _error(502, "This page could not be shown", "Please try again later.")
        return Fetched(status=upstream.status_code, headers=upstream.headers, body=body, raw=raw)

    def _copy_headers(self, copy: Entry) -> _CopyHeaders:
        """A cached copy's headers, and what is read in them, once per copy and headers."""
        cache = self.cache
        assert cache is not None

        def build() -> _CopyHeaders:
            headers = cache.stored_headers(copy)
            return _CopyHeaders(headers, media_type(headers), headers.get("content-encoding", ""))

        return cache.memo.get(
            ("copy headers", copy.version, copy.headers),
            build,
            lambda _: copy.size - len(copy.body),
        )

    def _fetched_copy(self, copy: Entry, read: _CopyHeaders) -> Fetched | Response:
        """A cached copy read as :meth:`fetch` reads a response, decoded once per copy."""
        assert self.cache is not None
        limit = self.settings.proxy.max_page_bytes
        if len(copy.body) > limit:
            return _error(502, "This page is too large to show", "It exceeds the limit.")
        try:
            body = self.cache.memo.get(
                ("decoded", copy.version),
                lambda: decompress(copy.body, read.encoding, limit),
                len,
            )
        except (TooLarge, UnknownEncoding, ValueError) as exc:
            log.warning("cannot read upstream page: %s", exc)
            return _error(502, "This page could not be shown", "Please try again later.")
        return Fetched(copy.status, read.headers, body, raw=copy.body, copy=copy)

    async def _open(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes | None = None
    ) -> Entry | httpx.Response:
        """The upstream's response, or the shared upstream cache's copy when it is on."""
        if self.cache is None:
            return await self.upstream.open(method, target, headers, body)
        return await self.cache.answer(self.upstream, method, target, headers, body)

    def _analyse(self, fetched: Fetched, url: str) -> Page | None:
        """The analysed page at ``url``: once per cached copy and URL when it is cached."""

        def run() -> Page | None:
            page = analyse(_decode_html(fetched.body, charset(fetched.headers)), url, self.rules)
            if page is not None and page.body is None:
                log.warning(
                    "article body not found at %s: gated whole; set proxy.body_selector", url
                )
                self.services.metrics.bodies_not_found.inc()
            return page

        if self.cache is None or not fetched.version:
            return run()
        return self.cache.memo.get(
            ("page", fetched.version, url), run, lambda p: 2 * len(p.html) if p else 64
        )

    def _content(
        self, page: Page, fetched: Fetched, decision: Decision, live: LivePolicy, gzip: bool
    ) -> bytes:
        """The page one reader may see, with their banner or gate (in ``live``'s copy).

        For a cached copy the outcome (full text or teaser) is prepared once
        and only this reader's banner and gate are rendered and compressed.
        """
        full_text = shows_full_text(decision)
        if self.cache is None or not fetched.version:
            banner, gate = self.inserts.banner(decision, live), self.inserts.gate(decision, live)
            prepared = prepare(page, self.rules, full_text, self.assets)
            content = prepared.personalise(banner, gate).encode("utf-8")
            return gzip_bytes(content) if gzip else content
        # A decision holds no reader data (an outcome and the meter's numbers), so the
        # banner and gate rendered for it serve every reader with the same decision and
        # the same policy version and experiment variant.
        banner, gate = self.cache.memo.get(
            ("inserts", decision, live.version, live.experiment, live.variant),
            lambda: (self.inserts.banner(decision, live), self.inserts.gate(decision, live)),
            lambda inserts: len(inserts[0]) + len(inserts[1]),
        )
        template = self.cache.memo.get(
            ("outcome", fetched.version, page.url, full_text),
            lambda: Template(prepare(page, self.rules, full_text, self.assets)),
            lambda t: 3 * t.size,
        )
        return template.render_gzip(banner, gate) if gzip else template.render(banner, gate)

    def _rewritten_headers(
        self, fetched: Fetched, added: tuple[tuple[str, str], ...]
    ) -> tuple[tuple[bytes, bytes], ...]:
        """The headers of a page meterwall rewrote: the upstream's, less those that
        described its body, plus ``added``; encoded, and worked out once per cached copy."""

        def build() -> tuple[tuple[bytes, bytes], ...]:
            return _encoded([*self._public_headers(fetched.headers, drop=_REPLACED), *added])

        copy = fetched.copy
        if self.cache is None or copy is None:
            return build()
        return self.cache.memo.get(
            # The headers, not only the version, are in the key: a 304 changes them.
            ("rewritten headers", copy.version, copy.headers, self.upstream.base_url, added),
            build,
            lambda encoded: 64 + sum(len(k) + len(v) for k, v in encoded),
        )

    def _unchanged(self, fetched: Fetched) -> Response:
        response = Response(fetched.raw, status_code=fetched.status)
        headers = self._public_headers(fetched.headers)
        if self.cache is not None and fetched.copy is not None:
            headers.append(("age", self.cache.age(fetched.copy)))
        _replace_headers(response, headers)
        return response

    def _feed(self, fetched: Fetched) -> Response:
        rules = self.rules
        try:
            if self.cache is None or not fetched.version:
                cut = cut_feed(fetched.body, rules.lede_paragraphs, rules.lede_words)
            else:
                cut = self.cache.memo.get(
                    ("feed", fetched.version),
                    lambda: cut_feed(fetched.body, rules.lede_paragraphs, rules.lede_words),
                    lambda c: len(c) if c else 64,
                )
        except FeedError:
            return _error(502, "This feed could not be shown", "Please try again later.")
        if cut is None:
            return self._unchanged(fetched)
        response = Response(cut, status_code=fetched.status)
        content_type = fetched.headers.get("content-type", "application/xml")
        _set_headers(response, self._rewritten_headers(fetched, (("content-type", content_type),)))
        return response

    async def render_article(
        self, request: Request, page: Page, fetched: Fetched, ip: str | None = None
    ) -> Response:
        """Decide this reader's access to ``page`` and render what they may see.

        ``ip`` is the client's address when the caller already worked it out
        (the one it told the upstream); otherwise it is worked out here.
        """
        services = self.services
        visitor = services.identity.visitor(request)
        now = services.clock()
        reader = await services.readers.state(
            request_facts(
                request,
                visitor.reader_id,
                self.settings.trusted_proxies,
                now,
                page.canonical,
                ip=ip,
            )
        )
        decision = await services.access.decide(page.article, reader, now)
        live = await services.policies.for_reader(reader.reader_id)
        gzip = accepts_gzip(request.headers.get("accept-encoding", ""))
        content = self._content(page, fetched, decision, live, gzip)
        response = Response(content, status_code=fetched.status)
        _set_headers(response, self._rewritten_headers(fetched, _GZIPPED if gzip else _PLAIN))
        if not reader.verified_crawler:
            services.identity.remember(response, visitor)
        return response

    async def page_for(self, url: str) -> Page | None:
        """The analysed upstream article at public ``url``; ``None`` if it is not one of ours.

        Only URLs on the public origin are fetched, so a caller cannot make
        meterwall request anything but the publisher's own site.
        """
        public = normalise_url(self.settings.public_url).rstrip("/")
        if not url.startswith(public + "/"):
            return None
        target = url[len(public) :]
        headers = [("accept-encoding", ", ".join(DECODABLE)), ("host", self.upstream.host)]
        answer = await self._open("GET", target, headers)
        if isinstance(answer, Entry):
            read = self._copy_headers(answer)
            if self._kind("GET", answer.status, read.media_type) != "html" or answer.status != 200:
                return None
            fetched = self._fetched_copy(answer, read)
        elif self._kind("GET", answer.status_code, media_type(answer.headers)) != "html" or (
            answer.status_code != 200
        ):
            await answer.aclose()
            return None
        else:
            fetched = await self.fetch(answer)
        if isinstance(fetched, Response):
            return None
        return self._analyse(fetched, self.settings.public_url + target)

    def body_html(self, page: Page, full: bool) -> str:
        """The inner HTML of ``page``'s body: whole, or cut to the lede (gate slot empty)."""
        if page.body is None:
            return ""
        source = page.html if full else prepare(page, self.rules, False, self.assets).personalise()
        tree = parse(source)
        node = find(tree, page.body) if full else tree.css_first(PAYWALLED_SELECTOR)
        return (node.inner_html or "").strip() if node is not None else ""

    async def aclose(self) -> None:
        """Close the upstream connection pool (and the upstream cache)."""
        if self.cache is not None:
            await self.cache.aclose()
        await self.upstream.aclose()


def _encoded(headers: list[tuple[str, str]]) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers)


def _replace_headers(response: Response, headers: list[tuple[str, str]]) -> None:
    """Give ``response`` exactly ``headers``; a buffered body keeps its own computed length."""
    _set_headers(response, _encoded(headers))


def _set_headers(response: Response, encoded: tuple[tuple[bytes, bytes], ...]) -> None:
    """:func:`_replace_headers` with the headers already encoded."""
    if isinstance(response, StreamingResponse):
        response.raw_headers = list(encoded)
        return
    length = [(k, v) for k, v in response.raw_headers if k == b"content-length"]
    response.raw_headers = length + [(k, v) for k, v in encoded if k != b"content-length"]


class GatewayMiddleware:
    """Send every request meterwall does not answer itself to the upstream site."""

    def __init__(self, app: ASGIApp, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.gateway.owns(scope["path"]):
            await self.gateway(scope, receive, send)
            return
        await self.app(scope, receive, send)
