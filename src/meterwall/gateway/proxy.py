"""Reverse-proxy mode: the publisher's site, served through meterwall and gated on the server.

The request path is a row of phases, each a module with one job, so a
cache can sit between them and a new representation is one classifier rule
and one cutter:

0. **normalise** (:mod:`~meterwall.gateway.normalise`): the request's one
   canonical form; every pattern, decision and the upstream request use it,
   and a request spelled otherwise is redirected to it or refused;
1. :meth:`Gateway.fetch` gets the upstream response (un-personalised), or
   the cache hands over its copy, already whole in memory;
2. **classify** (:mod:`~meterwall.gateway.classify`): static asset, HTML page,
   feed, or another representation (JSON, RSC, text, fragment); an HTML page
   is analysed as a possible article (:func:`~meterwall.gateway.page.analyse`);
3. **decide** (:mod:`~meterwall.gateway.decide`): the one access decision for
   the article a page or representation stands for (one meter read for all);
4. **cut** (:mod:`~meterwall.gateway.cut` for pages,
   :mod:`~meterwall.gateway.feeds`, :mod:`~meterwall.gateway.represent` for
   the rest): what this reader may see;
5. **verify** (:mod:`~meterwall.gateway.verify`): a cut representation that
   still carries gated text is refused instead.

Static assets stream through unchanged, and so do front pages and any
representation without running prose.  Whatever goes wrong, a response that
might carry article text is never passed through uncut: the reader gets a
clear error, the gate or a refusal.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from meterwall.access.live import LivePolicy
from meterwall.access.model import Decision, ReaderState, shows_full_text
from meterwall.gateway.cache.entry import Entry
from meterwall.gateway.cache.factory import build_upstream_cache
from meterwall.gateway.cache.template import Template
from meterwall.gateway.classify import (
    REPRESENTATIONS,
    Kind,
    asks_for_jsonp,
    carries_prose,
    is_site_metadata,
    kind_of,
    refine,
)
from meterwall.gateway.compression import (
    TooLarge,
    UnknownEncoding,
    accepts_gzip,
    decompress,
    gzip_bytes,
)
from meterwall.gateway.config import PageRules
from meterwall.gateway.cut import Assets, gated_text, prepare
from meterwall.gateway.decide import (
    entitled_to_everything,
    is_navigation,
    is_prefetch,
    page_of,
    represented,
)
from meterwall.gateway.feeds import FeedError, cut_feed
from meterwall.gateway.insert import STYLESHEET_URL, Inserts, stylesheet
from meterwall.gateway.normalise import (
    Ambiguous,
    Canonical,
    canonical_path,
    canonical_target,
    canonicalise,
    raw_target,
)
from meterwall.gateway.origin import rewriter
from meterwall.gateway.page import Page, analyse, normalise_url
from meterwall.gateway.represent import cut_article, cut_listing, describes_an_api
from meterwall.gateway.schema import PAYWALLED_SELECTOR
from meterwall.gateway.text import Fingerprint
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
from meterwall.gateway.verify import Verifier
from meterwall.web.client import client_ip, request_facts

if TYPE_CHECKING:
    from collections.abc import Callable

    from meterwall.app import Services
    from meterwall.web.reader import Visitor

log = logging.getLogger(__name__)

PRIVATE = {"cache-control": "private, no-store", "vary": "Cookie, Accept-Encoding"}
"""Headers of every response that depends on who is reading."""
_PLAIN = (("content-type", "text/html; charset=utf-8"), *PRIVATE.items())
_GZIPPED = (*_PLAIN, ("content-encoding", "gzip"))

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
_BODY_HEADERS = (
    "content-length",
    "content-encoding",
    "content-type",
    "content-md5",
    "digest",
    "accept-ranges",
)
"""Headers that describe a body: dropped from a redirect passed on without its body."""
_MAX_REQUEST_BODY = 32 * 1024 * 1024
_T = TypeVar("_T")


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


def _refusal(kind: Kind) -> Response:
    """The answer to a reader who may not have this representation: a 403 that a
    framework's client router takes as "load the page instead"."""
    headers = {"cache-control": "no-store", "vary": "Cookie"}
    if kind == "json":
        return JSONResponse(
            {"error": "subscription_required", "detail": "Subscribe to read this story."},
            status_code=403,
            headers=headers,
        )
    response = _error(403, "Subscribe to keep reading", "This story is for subscribers.")
    response.headers.update(headers)
    return response


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
        self._allowed = [re.compile(p) for p in proxy.allow_paths]
        self.verifier = Verifier(services.metrics.registry)
        # "/x/" and "/x" both own "/x" and everything under "/x/".
        self._own_exact = frozenset(p.removesuffix("/") for p in proxy.own_paths)
        self._own_under = tuple(p if p.endswith("/") else p + "/" for p in proxy.own_paths)
        self.origin = rewriter(proxy.upstream, settings.public_url)
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
            client_ip=client_ip(
                request, self.settings.trusted_proxies, self.settings.client_ip_header
            ),
            public_host=self._public_host,
            public_scheme=self._public_scheme,
            upstream_host=self.upstream.host,
            preserve_host=self.settings.proxy.preserve_host,
            reader_cookie=self.services.identity.name,
        )

    async def handle(self, request: Request) -> Response:
        """Answer one proxied request."""
        body = await self._request_body(request)
        if isinstance(body, Response):
            return body
        canonical = self._canonical(request, body)
        if isinstance(canonical, Response):
            return canonical
        target = canonical.target
        forwarding = self._forwarding(request)
        read = await self._read(request, target, body, forwarding)
        if isinstance(read, Response):
            return read
        kind, fetched = read
        fetched = self._public_body(fetched)
        kind = refine(kind, fetched.body)
        if kind == "feed":
            feed = self._feed(fetched)
            if feed is not None:
                return feed
            kind = "json" if media_type(fetched.headers).endswith("json") else "other"
        if kind in REPRESENTATIONS:
            return await self._representation(request, target, kind, fetched, forwarding.client_ip)
        url = self.settings.public_url + target
        try:
            page = self._analyse(fetched, url)
        except Exception:
            log.exception("could not analyse %s", target)
            return _error(502, "This page could not be shown", "Please try again later.")
        if page is None:
            if represented(target) != target:
                # A print or other variant without article markup is still its article.
                return await self._representation(
                    request, target, "page", fetched, forwarding.client_ip
                )
            return self._unchanged(fetched)
        if is_prefetch(request.headers):
            return await self._prefetched(request, page, fetched, forwarding.client_ip)
        return await self.render_article(request, page, fetched, forwarding.client_ip)

    async def _prefetched(
        self, request: Request, page: Page, fetched: Fetched, ip: str | None
    ) -> Response:
        """An article page asked for ahead of a click (Next.js links in view, speculation
        rules): it spends no meter read, so only readers entitled to everything get it;
        for anyone else it is refused, and the click itself is decided as usual."""
        visitor, reader = await self._reader(request, page.canonical, ip)
        policy = await self.services.access.policy_for(reader.reader_id)
        if not entitled_to_everything(reader, policy, self.services.clock()):
            return _refusal("page")
        decision = await self.services.access.decide(page.article, reader, self.services.clock())
        return await self._render(request, page, fetched, decision, reader, visitor)

    def _canonical(self, request: Request, body: bytes | None) -> Canonical | Response:
        """The request's one meaning (:mod:`~meterwall.gateway.normalise`), or the answer
        to a request that has none, is blocked, or is spelled otherwise (a redirect)."""
        try:
            canonical = canonicalise(request.scope, body)
        except Ambiguous as exc:
            return _error(400, "This address cannot be read", str(exc))
        if any(p.search(canonical.matched) for p in self._blocked):
            return _error(404, "Page not found", "There is no page at this address.")
        if canonical.target != raw_target(request.scope):
            if request.method not in ("GET", "HEAD"):
                return _error(400, "This address cannot be read", "Please use its plain form.")
            return Response(
                status_code=308,
                headers={"location": canonical.target, "cache-control": "no-store"},
            )
        return canonical

    def _public_body(self, fetched: Fetched) -> Fetched:
        """``fetched`` with the upstream's origin made public in its body
        (:mod:`~meterwall.gateway.origin`); a changed body is sent uncompressed."""
        if self.cache is None or not fetched.version:
            body = self.origin.body(fetched.body)
        else:
            body = self.cache.memo.get(
                ("public body", fetched.version),
                lambda: self.origin.body(fetched.body),
                len,
            )
        if body is fetched.body or body == fetched.body:
            return fetched
        headers = httpx.Headers(
            [
                (k, v)
                for k, v in fetched.headers.multi_items()
                if k.lower() not in ("content-encoding", "content-length")
            ]
        )
        return Fetched(fetched.status, headers, body, raw=body, copy=fetched.copy)

    async def _read(
        self, request: Request, target: str, body: bytes | None, forwarding: Forwarding
    ) -> tuple[Kind, Fetched] | Response:
        """The upstream's answer: a response meterwall must read (anything that may carry
        article text), read whole, or the response that streams the rest through unchanged
        (static assets, and the paths the publisher opened with ``allow_paths``)."""
        method = request.method
        incoming = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        answer = await self._open(method, target, request_headers(incoming, forwarding), body)
        if any(p.search(target) for p in self._allowed):
            if isinstance(answer, Entry):
                assert self.cache is not None
                return self._stream(self.cache.respond(answer, head=method == "HEAD"))
            return self._stream(answer)
        jsonp = asks_for_jsonp(target)
        if (
            isinstance(answer, httpx.Response)
            and answer.status_code == 206
            and kind_of(method, answer.status_code, media_type(answer.headers), jsonp) != "pass"
        ):
            # A range of a response meterwall must read whole: ask again for all of it.
            await answer.aclose()
            headers = request_headers(incoming, forwarding, unconditional=True)
            answer = await self._open(method, target, headers, body)
            if isinstance(answer, httpx.Response) and answer.status_code == 206:
                # Fail closed: a part cannot be checked for the text it must not carry.
                await answer.aclose()
                return _error(502, "This page could not be shown", "Please try again later.")
        if isinstance(answer, Entry):
            return self._read_copy(method, answer, jsonp)
        if 300 <= answer.status_code < 400:
            await answer.aclose()
            return self._redirect(answer.status_code, answer.headers)
        kind = kind_of(method, answer.status_code, media_type(answer.headers), jsonp)
        if kind == "pass":
            return self._stream(answer)
        fetched = await self.fetch(answer)
        if isinstance(fetched, Response):
            return fetched
        return kind, fetched

    def _read_copy(
        self, method: str, copy: Entry, jsonp: bool = False
    ) -> tuple[Kind, Fetched] | Response:
        """A cached copy as :meth:`_read` gives it, without an HTTP response to read it from."""
        assert self.cache is not None
        read = self._copy_headers(copy)
        if 300 <= copy.status < 400:
            return self._redirect(copy.status, read.headers)
        kind = kind_of(method, copy.status, read.media_type, jsonp)
        if kind == "pass":
            return self._stream(self.cache.respond(copy, head=method == "HEAD"))
        fetched = self._fetched_copy(copy, read)
        if isinstance(fetched, Response):
            return fetched
        return kind, fetched

    def _redirect(self, status: int, upstream: httpx.Headers) -> Response:
        """A redirect passed on with its headers (``Location`` made public) and no body:
        a redirect's body is never shown, and might carry what a gated reader may not see."""
        response = Response(b"", status_code=status)
        _replace_headers(response, self._public_headers(upstream, drop=_BODY_HEADERS))
        return response

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
        path = urlsplit(page.url).path or "/"
        if self.cache is None or not fetched.version:
            banner = self.inserts.banner(decision, live)
            gate = self.inserts.gate(decision, live, path)
            prepared = prepare(page, self.rules, full_text, self.assets)
            content = prepared.personalise(banner, gate).encode("utf-8")
            return gzip_bytes(content) if gzip else content
        # A decision holds no reader data (an outcome and the meter's numbers), so the
        # banner and gate rendered for it serve every reader with the same decision and
        # the same policy version and experiment variant.
        # The gate's sign-in link returns to the story, so the story's path is in the key.
        banner, gate = self.cache.memo.get(
            ("inserts", decision, live.version, live.experiment, live.variant, path),
            lambda: (self.inserts.banner(decision, live), self.inserts.gate(decision, live, path)),
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

    def _feed(self, fetched: Fetched) -> Response | None:
        """The feed cut item by item; ``None`` when the document is no feed after all."""
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
            return None
        response = Response(cut, status_code=fetched.status)
        content_type = fetched.headers.get("content-type", "application/xml")
        _set_headers(response, self._rewritten_headers(fetched, (("content-type", content_type),)))
        return response

    async def _reader(
        self, request: Request, url: str, ip: str | None
    ) -> tuple[Visitor, ReaderState]:
        """Who is reading ``url``: their cookie's visitor and their state (entitlements,
        crawler check)."""
        services = self.services
        visitor = services.identity.visitor(request)
        facts = request_facts(
            request,
            visitor.reader_id,
            self.settings.trusted_proxies,
            services.clock(),
            url,
            ip=ip,
            header=self.settings.client_ip_header,
        )
        return visitor, await services.readers.state(facts)

    async def render_article(
        self, request: Request, page: Page, fetched: Fetched, ip: str | None = None
    ) -> Response:
        """Decide this reader's access to ``page`` and render what they may see.

        ``ip`` is the client's address when the caller already worked it out
        (the one it told the upstream); otherwise it is worked out here.
        """
        visitor, reader = await self._reader(request, page.canonical, ip)
        decision = await self.services.access.decide(page.article, reader, self.services.clock())
        return await self._render(request, page, fetched, decision, reader, visitor)

    async def _render(
        self,
        request: Request,
        page: Page,
        fetched: Fetched,
        decision: Decision,
        reader: ReaderState,
        visitor: Visitor,
    ) -> Response:
        """The article page as ``decision`` lets this reader see it, banner or gate in."""
        live = await self.services.policies.for_reader(reader.reader_id)
        gzip = accepts_gzip(request.headers.get("accept-encoding", ""))
        content = self._content(page, fetched, decision, live, gzip)
        response = Response(content, status_code=fetched.status)
        _set_headers(response, self._rewritten_headers(fetched, _GZIPPED if gzip else _PLAIN))
        self._remember(response, reader, visitor)
        return response

    def _remember(self, response: Response, reader: ReaderState, visitor: Visitor) -> None:
        if not reader.verified_crawler:
            self.services.identity.remember(response, visitor)

    def _memo(
        self, fetched: Fetched, key: tuple[object, ...], build: Callable[[], _T], size: int
    ) -> _T:
        """``build()``, worked out once per cached copy when ``fetched`` is one."""
        if self.cache is None or not fetched.version:
            return build()
        return self.cache.memo.get((*key, fetched.version), build, lambda _: size)

    async def _representation(
        self, request: Request, target: str, kind: Kind, fetched: Fetched, ip: str | None
    ) -> Response:
        """Decide and cut a response that is not an article page or a feed.

        Without running prose it is passed on unchanged, for every reader.
        Otherwise it is the same read as the article page it represents:
        whole when the reader may read that article, else cut (verified) or
        refused.  One that represents no article is whole for readers
        entitled to everything and cut to each post's lede, or refused, for
        everyone else.
        """
        if is_site_metadata(target.partition("?")[0]):
            return self._unchanged(fetched)
        text = _decode_html(fetched.body, charset(fetched.headers))
        if kind != "page" and not self._memo(
            fetched, ("prose", kind), lambda: carries_prose(kind, text), 64
        ):
            return self._unchanged(fetched)
        page_target = page_of(target, request.headers)
        found = await self._page_at(page_target) if page_target is not None else None
        if found is not None and not is_prefetch(request.headers):
            page, source = found
            visitor, reader = await self._reader(request, page.canonical, ip)
            decision = await self.services.access.decide(
                page.article, reader, self.services.clock()
            )
            if shows_full_text(decision):
                response = self._whole(fetched)
            elif kind == "page":
                return await self._render(request, page, source, decision, reader, visitor)
            elif is_navigation(target, request.headers):
                # Next.js answers a refused client-side navigation with a full page load,
                # which gets the article's gated page.
                response = _refusal(kind)
            else:
                fingerprint = self._memo(
                    source, ("gated", page.url), lambda: gated_text(page, self.rules), 4096
                )
                cut = cut_article(kind, text, fingerprint, self.rules)
                response = self._checked(kind, target, fetched, cut, fingerprint)
            self._remember(response, reader, visitor)
            return response
        if kind == "page" and found is None:
            return self._unchanged(fetched)
        if found is None and self._memo(
            fetched, ("describes an api", kind), lambda: describes_an_api(kind, text), 64
        ):
            return self._unchanged(fetched)
        _, reader = await self._reader(request, self.settings.public_url + target, ip)
        policy = await self.services.access.policy_for(reader.reader_id)
        if entitled_to_everything(reader, policy, self.services.clock()):
            return self._whole(fetched)
        if found is not None:
            # A prefetch of an article: no meter read is spent on it, so only readers
            # entitled to everything get it; the navigation itself is decided as usual.
            return _refusal(kind)
        listing = self._memo(
            fetched, ("listing", kind), lambda: cut_listing(kind, text, self.rules), len(text)
        )
        if listing is None:
            return _refusal(kind)
        return self._checked(kind, target, fetched, listing.body, listing.fingerprint)

    def _checked(
        self, kind: Kind, target: str, fetched: Fetched, cut: bytes | None, gated: Fingerprint
    ) -> Response:
        """The verify phase: the cut body, only if it carries none of the ``gated`` text."""
        if cut is None or not self.verifier.safe(cut, gated, kind, target):
            return _refusal(kind)
        media = media_type(fetched.headers) or "text/plain"
        content_type = media if kind == "json" else f"{media}; charset=utf-8"
        response = Response(cut, status_code=fetched.status)
        added = (("content-type", content_type), *PRIVATE.items())
        _set_headers(response, self._rewritten_headers(fetched, added))
        return response

    def _whole(self, fetched: Fetched) -> Response:
        """The upstream's response as it came, marked as meant for this reader only."""
        added = [("content-type", fetched.headers.get("content-type", "")), *PRIVATE.items()]
        encoding = fetched.headers.get("content-encoding", "")
        if encoding:
            added.append(("content-encoding", encoding))
        response = Response(fetched.raw, status_code=fetched.status)
        _set_headers(response, self._rewritten_headers(fetched, tuple(added)))
        return response

    async def _page_at(self, target: str) -> tuple[Page, Fetched] | None:
        """The analysed upstream article page at ``target`` (asked for as HTML, through
        the upstream cache when it is on) and its response; ``None`` if it is not one."""
        headers = [
            ("accept", "text/html"),
            ("accept-encoding", ", ".join(DECODABLE)),
            ("host", self.upstream.host),
        ]
        answer = await self._open("GET", target, headers)
        if isinstance(answer, Entry):
            read = self._copy_headers(answer)
            if kind_of("GET", answer.status, read.media_type) != "page" or answer.status != 200:
                return None
            fetched = self._fetched_copy(answer, read)
        elif kind_of("GET", answer.status_code, media_type(answer.headers)) != "page" or (
            answer.status_code != 200
        ):
            await answer.aclose()
            return None
        else:
            fetched = await self.fetch(answer)
        if isinstance(fetched, Response):
            return None
        fetched = self._public_body(fetched)
        page = self._analyse(fetched, self.settings.public_url + target)
        return (page, fetched) if page is not None else None

    async def page_for(self, url: str) -> Page | None:
        """The analysed upstream article at public ``url``; ``None`` if it is not one of ours.

        Only URLs on the public origin are fetched, so a caller cannot make
        meterwall request anything but the publisher's own site.
        """
        public = normalise_url(self.settings.public_url).rstrip("/")
        if not url.startswith(public + "/"):
            return None
        try:
            target = canonical_target(url[len(public) :])
        except Ambiguous:
            return None
        found = await self._page_at(target)
        return found[0] if found is not None else None

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
        if scope["type"] == "http" and not self._owned(scope):
            await self.gateway(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _owned(self, scope: Scope) -> bool:
        """Whether meterwall answers this request itself, by its canonical path (a path
        spelled otherwise goes to the gateway, which redirects or refuses it)."""
        raw = raw_target(scope).partition("?")[0]
        try:
            path = canonical_path(raw.encode("latin-1"))
        except Ambiguous:
            return False
        return path == raw and self.gateway.owns(path)
