"""The shared upstream cache in front of the publisher's site.

:meth:`UpstreamCache.answer` stands in for
:meth:`meterwall.gateway.upstream.Upstream.open`: it answers ``GET`` and
``HEAD`` from the cache when it may and otherwise asks the upstream,
keeping what HTTP allows a shared cache to keep.  What the cache answers
is the cached copy itself, an :class:`~meterwall.gateway.cache.entry.Entry`
already whole in memory: the proxy reads and gates it like a fresh page
without an HTTP response to read it from, and remembers work derived from
it per copy.  :meth:`UpstreamCache.respond` turns a copy into the upstream
response it stands for, for what streams through unchanged.

The rules, in order: requests that may be personal (``Authorization``, a
cookie other than meterwall's own and the ignored ones) and methods other
than ``GET``/``HEAD`` go straight upstream (a successful unsafe request
also drops the cached copy of its URL).  A fresh copy is served; a stale
one within ``stale-while-revalidate`` is served while one background fetch
refreshes it; otherwise one fetch per key runs (conditional when the copy
has a validator) and every waiting request shares its result.  A stale copy
within ``stale-if-error`` is served when that fetch fails.  Responses the
cache may not keep go to the request that fetched them; requests waiting on
the same fetch then ask the upstream themselves, and the key goes straight
upstream for a few seconds ("hit for pass").
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import httpx

from meterwall.gateway.cache.coalesce import Flights
from meterwall.gateway.cache.config import CacheSettings
from meterwall.gateway.cache.entry import CacheKey, Entry
from meterwall.gateway.cache.freshness import (
    ERROR_STATUSES,
    Defaults,
    conditional_headers,
    freshness,
    merge_not_modified,
    not_storable,
    varied_on,
)
from meterwall.gateway.cache.keys import KeyRules, purge_paths
from meterwall.gateway.cache.memo import Memo
from meterwall.gateway.cache.ports import CacheStore, CacheUnavailable
from meterwall.gateway.upstream import HOP_BY_HOP, Upstream, UpstreamError

log = logging.getLogger(__name__)

PASS_SECONDS = 10.0
"""How long a key whose response could not be kept goes straight to the upstream."""

_SAFE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_NOT_STORED = HOP_BY_HOP | {"age", "content-length"}
_MAX_PASSES = 10_000
_POLL_SECONDS = 0.05
_WARN_EVERY = 10.0


@dataclass(frozen=True, slots=True)
class _Fill:
    """The outcome of one fetch: a copy every waiting request may use, or a response
    only the request that fetched it may use."""

    entry: Entry | None = None
    response: httpx.Response | None = None


class _Resumed(httpx.AsyncByteStream):
    """The chunks already read from an upstream response, then the rest of it."""

    def __init__(self, head: list[bytes], rest: AsyncIterator[bytes], response: httpx.Response):
        self._head = head
        self._rest = rest
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._head:
            yield chunk
        async for chunk in self._rest:
            yield chunk

    async def aclose(self) -> None:
        await self._response.aclose()


def _close_unused(task: asyncio.Task[_Fill]) -> None:
    """Close a fetched response whose request went away before it could use it."""
    if task.cancelled() or task.exception() is not None:
        return
    response = task.result().response
    if response is not None:
        asyncio.get_running_loop().create_task(response.aclose())


def _has(headers: Sequence[tuple[str, str]], name: str) -> bool:
    return any(k.lower() == name for k, _ in headers)


class UpstreamCache:
    """Answers upstream requests from a :class:`CacheStore` where HTTP allows."""

    def __init__(
        self,
        store: CacheStore,
        settings: CacheSettings,
        *,
        origins: Sequence[str] = (),
        fill_timeout: float = 15.0,
        clock: Callable[[], float] = time.time,
        observe: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.rules = KeyRules(settings)
        self.defaults = Defaults(
            ttl=settings.default_ttl,
            stale_while_revalidate=settings.stale_while_revalidate,
            stale_if_error=settings.stale_if_error,
        )
        self.memo = Memo(settings.memo_max_bytes)
        self.max_entry_bytes = settings.max_entry_bytes
        self.origins = tuple(origins)
        self.fill_timeout = fill_timeout
        self.clock = clock
        self.stats: Counter[str] = Counter()
        self._observe = observe
        self._flights: Flights[_Fill] = Flights()
        self._background: set[asyncio.Task[None]] = set()
        self._passes: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._warned_at = -_WARN_EVERY

    def _count(self, result: str) -> None:
        """Count one lookup's result (hit, stale, miss, revalidated, ...)."""
        self.stats[result] += 1
        if self._observe is not None:
            self._observe(result)

    def _unavailable(self, exc: CacheUnavailable) -> None:
        self._count("unavailable")
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            log.warning("the upstream cache is unavailable, asking the upstream: %s", exc)

    async def answer(
        self,
        upstream: Upstream,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | None = None,
    ) -> Entry | httpx.Response:
        """The cached copy that answers this request where HTTP allows, else the
        upstream's response (see :meth:`respond` for a copy as a response)."""
        if method not in ("GET", "HEAD"):
            response = await upstream.open(method, target, headers, body)
            if method not in _SAFE and response.status_code < 400:
                await self._invalidate([target, response.headers.get("location", "")])
            return response
        key = self.rules.key(target, headers)
        if key is None or body:
            self._count("pass")
            return await upstream.open(method, target, headers, body)
        if method == "HEAD":
            return await self._head(upstream, key, target, headers)
        return await self._get(upstream, key, target, headers)

    async def _lookup(self, key: CacheKey, headers: Sequence[tuple[str, str]]) -> Entry | None:
        try:
            entry = await self.store.get(key)
        except CacheUnavailable as exc:
            self._unavailable(exc)
            return None
        if entry is None or not self._matches(entry, headers):
            return None
        return entry

    def _matches(self, entry: Entry, headers: Sequence[tuple[str, str]]) -> bool:
        if not entry.vary:
            return True
        names = [name for name, _ in entry.vary]
        return self.rules.varied(names, headers) == entry.vary

    def stored_headers(self, entry: Entry) -> httpx.Headers:
        """A copy's response headers with its ``Content-Length`` (no ``Age``), built once
        per copy and headers.  Shared between requests: never modify them."""
        return self.memo.get(
            # The headers themselves are in the key: a 304 changes them but not the version.
            ("headers", entry.version, entry.headers),
            lambda: httpx.Headers([*entry.headers, ("content-length", str(len(entry.body)))]),
            lambda _: entry.size - len(entry.body),
        )

    def age(self, entry: Entry) -> str:
        """The ``Age`` header value of a copy served now."""
        return str(int(entry.freshness.age(self.clock())))

    def respond(self, entry: Entry, head: bool = False) -> httpx.Response:
        """The upstream response a cached copy stands for, as served now."""
        headers = httpx.Headers(self.stored_headers(entry))
        headers["age"] = self.age(entry)
        return httpx.Response(
            entry.status, headers=headers, stream=httpx.ByteStream(b"" if head else entry.body)
        )

    async def _head(
        self, upstream: Upstream, key: CacheKey, target: str, headers: list[tuple[str, str]]
    ) -> Entry | httpx.Response:
        entry = await self._lookup(key, headers)
        if entry is not None and entry.freshness.fresh(self.clock()):
            self._count("hit")
            return entry
        self._count("pass")
        return await upstream.open("HEAD", target, headers)

    def _passing(self, key: CacheKey, now: float) -> bool:
        until = self._passes.get((key.group, key.variant))
        if until is None:
            return False
        if until > now:
            return True
        del self._passes[(key.group, key.variant)]
        return False

    def _mark_pass(self, key: CacheKey) -> None:
        self._passes[(key.group, key.variant)] = self.clock() + PASS_SECONDS
        self._passes.move_to_end((key.group, key.variant))
        while len(self._passes) > _MAX_PASSES:
            self._passes.popitem(last=False)

    async def _get(
        self, upstream: Upstream, key: CacheKey, target: str, headers: list[tuple[str, str]]
    ) -> Entry | httpx.Response:
        now = self.clock()
        if self._passing(key, now):
            self._count("pass")
            return await upstream.open("GET", target, headers)
        entry = await self._lookup(key, headers)
        if entry is not None:
            if entry.freshness.fresh(now):
                self._count("hit")
                return entry
            if entry.freshness.serve_while_revalidating(now):
                self._count("stale")
                self._refresh(upstream, key, headers, entry)
                return entry
        elif _has(headers, "range"):
            # A range of something not cached (a video being sought): the upstream answers it.
            self._count("pass")
            return await upstream.open("GET", target, headers)
        fill_headers = self.rules.fill_headers(headers)
        task, leader = self._flights.join(
            (key.group, key.variant), lambda: self._fill(upstream, key, fill_headers, entry)
        )
        try:
            fill = await self._flights.wait(task)
        except asyncio.CancelledError:
            if leader:
                task.add_done_callback(_close_unused)
            raise
        except UpstreamError:
            if entry is not None and entry.freshness.serve_on_error(self.clock()):
                self._count("stale_if_error")
                return entry
            raise
        if fill.response is not None:
            if leader:
                return fill.response
            self._count("pass")
            return await upstream.open("GET", target, headers)
        assert fill.entry is not None
        if not leader and not self._matches(fill.entry, headers):
            self._count("pass")
            return await upstream.open("GET", target, headers)
        return fill.entry

    def _refresh(
        self, upstream: Upstream, key: CacheKey, headers: list[tuple[str, str]], entry: Entry
    ) -> None:
        """Refresh a stale copy in the background (joining a fetch already running)."""
        fill_headers = self.rules.fill_headers(headers)
        task, leader = self._flights.join(
            (key.group, key.variant), lambda: self._fill(upstream, key, fill_headers, entry)
        )
        if not leader:
            return

        async def settle() -> None:
            try:
                fill = await self._flights.wait(task)
            except UpstreamError as exc:
                log.warning("refreshing %s failed: %s", key.target, exc)
                return
            if fill.response is not None:
                await fill.response.aclose()

        background = asyncio.create_task(settle())
        self._background.add(background)
        background.add_done_callback(self._background.discard)

    async def _fill(
        self, upstream: Upstream, key: CacheKey, headers: list[tuple[str, str]], stale: Entry | None
    ) -> _Fill:
        """Fetch ``key`` once (for every node, where the store can coordinate) and keep it."""
        try:
            claimed = await self.store.claim(key, self.fill_timeout)
        except CacheUnavailable as exc:
            self._unavailable(exc)
            claimed = True
        if not claimed:
            found = await self._filled_elsewhere(key)
            if found is not None:
                self._count("hit")
                return _Fill(entry=found)
        try:
            return await self._fetch(upstream, key, headers, stale)
        finally:
            if claimed:
                try:
                    await self.store.release(key)
                except CacheUnavailable as exc:
                    self._unavailable(exc)

    async def _filled_elsewhere(self, key: CacheKey) -> Entry | None:
        """Wait for the node that claimed ``key`` to store it (at most the fill timeout)."""
        deadline = time.monotonic() + self.fill_timeout
        while time.monotonic() < deadline:
            await asyncio.sleep(_POLL_SECONDS)
            try:
                entry = await self.store.get(key)
            except CacheUnavailable as exc:
                self._unavailable(exc)
                return None
            if entry is not None and entry.freshness.fresh(self.clock()):
                return entry
        return None

    async def _fetch(
        self, upstream: Upstream, key: CacheKey, headers: list[tuple[str, str]], stale: Entry | None
    ) -> _Fill:
        send = list(headers)
        if stale is not None:
            send += conditional_headers(stale.http_headers())
        requested = self.clock()
        response = await upstream.open("GET", key.target, send)
        received = self.clock()
        status = response.status_code
        if status == 304 and stale is not None:
            await response.aclose()
            return await self._revalidated(key, stale, response.headers, requested, received)
        if (
            status in ERROR_STATUSES
            and stale is not None
            and stale.freshness.serve_on_error(received)
        ):
            await response.aclose()
            self._count("stale_if_error")
            return _Fill(entry=stale)
        reason = not_storable(status, response.headers, self.defaults)
        if reason is not None:
            log.debug("not keeping %s: %s", key.target, reason)
            self._count("miss")
            self._mark_pass(key)
            return _Fill(response=response)
        read = await self._read(response)
        if isinstance(read, httpx.Response):
            self._count("miss")
            self._mark_pass(key)
            return _Fill(response=read)
        entry = Entry(
            status=status,
            headers=tuple(
                (k, v) for k, v in response.headers.multi_items() if k not in _NOT_STORED
            ),
            body=read,
            freshness=freshness(response.headers, requested, received, self.defaults),
            version=secrets.token_hex(8),
            vary=self.rules.varied(varied_on(response.headers), headers),
        )
        self._count("miss")
        await self._keep(key, entry)
        return _Fill(entry=entry)

    async def _revalidated(
        self,
        key: CacheKey,
        stale: Entry,
        not_modified: httpx.Headers,
        requested: float,
        received: float,
    ) -> _Fill:
        merged = merge_not_modified(stale.http_headers(), not_modified)
        entry = stale.updated(merged, freshness(merged, requested, received, self.defaults))
        self._count("revalidated")
        if not_storable(stale.status, merged, self.defaults) is None:
            await self._keep(key, entry)
        else:
            await self._drop(key)
        return _Fill(entry=entry)

    async def _read(self, response: httpx.Response) -> bytes | httpx.Response:
        """The whole body, or (past ``max_entry_bytes``) a response that streams on."""
        chunks: list[bytes] = []
        size = 0
        raw = response.aiter_raw()
        try:
            async for chunk in raw:
                chunks.append(chunk)
                size += len(chunk)
                if size > self.max_entry_bytes:
                    return httpx.Response(
                        response.status_code,
                        headers=response.headers,
                        stream=_Resumed(chunks, raw, response),
                    )
        except httpx.HTTPError as exc:
            await response.aclose()
            raise UpstreamError(f"the upstream site broke off: {exc}") from exc
        await response.aclose()
        return b"".join(chunks)

    async def _keep(self, key: CacheKey, entry: Entry) -> None:
        try:
            await self.store.put(key, entry)
        except CacheUnavailable as exc:
            self._unavailable(exc)

    async def _drop(self, key: CacheKey) -> None:
        try:
            await self.store.delete(key)
        except CacheUnavailable as exc:
            self._unavailable(exc)

    async def _invalidate(self, targets: Sequence[str]) -> None:
        """Drop the copies an unsafe request may have changed (RFC 9111 section 4.4)."""
        groups: list[str] = []
        for target in targets:
            if not target:
                continue
            try:
                groups += purge_paths(self.rules.target(target), self.origins)
            except ValueError:
                continue
        if groups:
            try:
                await self.store.purge(groups)
            except CacheUnavailable as exc:
                self._unavailable(exc)

    async def purge(self, urls: Sequence[str]) -> int:
        """Drop every cached variant of ``urls`` (paths, or URLs on this site); how many
        URLs had copies.  Raises :class:`ValueError` for a URL on another site and
        :class:`CacheUnavailable` when the store cannot be reached."""
        groups: list[str] = []
        for url in urls:
            groups += purge_paths(url, self.origins)
        self._passes.clear()
        return await self.store.purge(groups)

    async def purge_all(self) -> int:
        """Drop every cached response (and everything derived from them here)."""
        self._passes.clear()
        self.memo.clear()
        return await self.store.purge_all()

    async def aclose(self) -> None:
        """Stop background refreshes and close the store."""
        await self._flights.aclose()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.store.close()
