"""The purge endpoints: a CMS tells meterwall that an article changed.

``POST /_meterwall/purge`` takes ``Authorization: Bearer <cache.purge_token>``
and a JSON body ``{"urls": [...]}`` (or ``{"url": "..."}``, or
``{"all": true}``), or the same as form fields.  ``POST
/_meterwall/purge/ghost`` is a Ghost webhook target: Ghost signs each
delivery with the webhook's secret (set it to the purge token) in
``X-Ghost-Signature``, and the post's current and previous URLs are
purged; a delivery without a post or page (``site.changed``) purges
everything.  Answers are JSON; every refusal says why.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from meterwall.gateway.cache.layer import UpstreamCache
from meterwall.gateway.cache.ports import CacheUnavailable

PURGE_PATH = "/_meterwall/purge"
GHOST_PATH = "/_meterwall/purge/ghost"
MAX_BODY = 4 * 1024 * 1024
MAX_URLS = 1_000
SIGNATURE_AGE_SECONDS = 300


class PurgeRefused(Exception):
    """A purge request that cannot be carried out, with the status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _error(status: int, message: str) -> JSONResponse:
    headers = {"cache-control": "no-store"}
    if status == 401:
        headers["www-authenticate"] = 'Bearer realm="meterwall purge"'
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _cache_and_token(request: Request) -> tuple[UpstreamCache, str]:
    gateway = getattr(request.app.state, "gateway", None)
    cache = getattr(gateway, "cache", None)
    if not isinstance(cache, UpstreamCache):
        raise PurgeRefused(404, "the upstream cache is off (cache.enabled, in proxy mode)")
    token = request.app.state.services.settings.cache.purge_token
    if token is None:
        raise PurgeRefused(403, "purging is switched off: set cache.purge_token")
    return cache, token.get_secret_value()


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise PurgeRefused(413, f"the request body exceeds {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise PurgeRefused(413, f"the request body exceeds {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _urls_from(data: Any) -> list[str] | None:
    """The URLs a purge body names; ``None`` for "all"."""
    if not isinstance(data, dict):
        raise PurgeRefused(
            400, 'send a JSON object: {"urls": [...]}, {"url": "..."} or {"all": true}'
        )
    if data.get("all") in (True, "1", "true", "yes"):
        return None
    urls = data.get("urls", [])
    if isinstance(urls, str):
        urls = [urls]
    if "url" in data:
        urls = [*urls, data["url"]]
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise PurgeRefused(400, '"urls" must be a list of strings')
    if not urls:
        raise PurgeRefused(400, 'name the URLs to purge ("urls") or ask for "all"')
    if len(urls) > MAX_URLS:
        raise PurgeRefused(400, f"at most {MAX_URLS} URLs per request")
    return urls


async def _purge(cache: UpstreamCache, urls: list[str] | None) -> JSONResponse:
    try:
        if urls is None:
            purged = await cache.purge_all()
            return JSONResponse(
                {"purged": purged, "all": True}, headers={"cache-control": "no-store"}
            )
        purged = await cache.purge(urls)
    except ValueError as exc:
        raise PurgeRefused(400, str(exc)) from None
    except CacheUnavailable as exc:
        raise PurgeRefused(503, f"the cache store cannot be reached: {exc}") from None
    return JSONResponse({"purged": purged, "urls": urls}, headers={"cache-control": "no-store"})


async def purge(request: Request) -> JSONResponse:
    """``POST /_meterwall/purge``: drop cached copies of URLs, or of everything."""
    try:
        cache, token = _cache_and_token(request)
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            raise PurgeRefused(401, "send Authorization: Bearer <cache.purge_token>")
        body = await _body(request)
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media == "application/x-www-form-urlencoded":
            form = parse_qs(body.decode("utf-8", "replace"))
            data: Any = {"urls": form.get("url", []), "all": form.get("all", [""])[0]}
        else:
            try:
                data = json.loads(body or b"null")
            except ValueError:
                raise PurgeRefused(400, "the body is not JSON") from None
        return await _purge(cache, _urls_from(data))
    except PurgeRefused as exc:
        return _error(exc.status, str(exc))


def ghost_signature_valid(header: str, body: bytes, secret: str, now: float) -> bool:
    """Whether ``X-Ghost-Signature`` (``sha256=<hex>, t=<ms>``) signs ``body`` with ``secret``
    and was made within :data:`SIGNATURE_AGE_SECONDS` of ``now``."""
    parts = dict(p.strip().partition("=")[::2] for p in header.split(",") if "=" in p)
    signature, stamp = parts.get("sha256", ""), parts.get("t", "")
    if not signature or not stamp.isdigit():
        return False
    if abs(now - int(stamp) / 1000) > SIGNATURE_AGE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def _ghost_urls(data: Any) -> list[str] | None:
    if not isinstance(data, dict):
        raise PurgeRefused(400, "the body is not a Ghost webhook payload")
    for kind in ("post", "page"):
        resource = data.get(kind)
        if isinstance(resource, dict):
            urls = []
            for state in ("current", "previous"):
                url = (resource.get(state) or {}).get("url")
                if isinstance(url, str) and url:
                    urls.append(url)
            return urls
    return None


async def ghost(request: Request) -> JSONResponse:
    """``POST /_meterwall/purge/ghost``: a Ghost webhook, signed with the purge token."""
    try:
        cache, token = _cache_and_token(request)
        body = await _body(request)
        signature = request.headers.get("x-ghost-signature", "")
        if not ghost_signature_valid(signature, body, token, time.time()):
            raise PurgeRefused(401, "X-Ghost-Signature is missing, stale or wrong")
        try:
            data = json.loads(body or b"null")
        except ValueError:
            raise PurgeRefused(400, "the body is not JSON") from None
        urls = _ghost_urls(data)
        if urls == []:
            return JSONResponse({"purged": 0, "urls": []}, headers={"cache-control": "no-store"})
        return await _purge(cache, urls)
    except PurgeRefused as exc:
        return _error(exc.status, str(exc))


def purge_routes() -> list[BaseRoute]:
    """The purge endpoints (they answer 404 unless the upstream cache is on)."""
    return [
        Route(PURGE_PATH, purge, methods=["POST"], name="cache_purge"),
        Route(GHOST_PATH, ghost, methods=["POST"], name="cache_purge_ghost"),
    ]
