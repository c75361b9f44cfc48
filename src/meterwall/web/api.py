"""The decision API, for sites that render on the client or at the edge.

``POST /api/v1/access`` answers what a reader may see of an article: the
decision, the meter and the publisher's copy and offers, never the article
text.  ``POST /api/v1/article`` is the server-side helper: it returns the
article body only when the decision allows it (the teaser otherwise), from
meterwall's own article store or, in proxy mode, from the upstream site.
The reader is named by meterwall's cookie (same-site callers) or by a signed
reader token (servers and edge functions).  ``GET /api/openapi.json``
documents both.  Every answer depends on the reader, so every answer is
``Cache-Control: private, no-store``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from meterwall.access.model import (
    ArticleAccess,
    Decision,
    ReaderState,
    shows_full_text,
)
from meterwall.access.policy import meter_window
from meterwall.content.model import Article
from meterwall.content.teaser import lede
from meterwall.gateway.insert import SNIPPET, stylesheet
from meterwall.gateway.page import normalise_url
from meterwall.gateway.upstream import UpstreamError
from meterwall.web.api_models import (
    MAX_REQUEST_BYTES,
    AccessRequest,
    CopyOut,
    DecisionOut,
    DecisionResponse,
    LinksOut,
    MeterOut,
    OfferOut,
)
from meterwall.web.client import request_facts
from meterwall.web.openapi import openapi
from meterwall.web.reader import Visitor
from meterwall.web.views import offer_view, wording

if TYPE_CHECKING:
    from meterwall.app import Services
    from meterwall.gateway.proxy import Gateway

PRIVATE = {"Cache-Control": "private, no-store", "Vary": "Cookie, Origin"}


class ApiError(Exception):
    """A request the API answers with a 4xx status and a readable message."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _cors(request: Request, response: Response) -> Response:
    origin = request.headers.get("origin", "")
    if origin and origin in _services(request).settings.api.allowed_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
    return response


def _json(request: Request, data: dict[str, Any], status: int = 200) -> Response:
    return _cors(request, JSONResponse(data, status_code=status, headers=PRIVATE))


async def _read(request: Request) -> tuple[AccessRequest, bool]:
    """The parsed request, and whether the caller sent ``reader_token`` (even as null)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_REQUEST_BYTES:
            raise ApiError(413, "request too large", f"send at most {MAX_REQUEST_BYTES} bytes")
    try:
        raw = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid JSON", "the request body must be a JSON object") from None
    except RecursionError:
        raise ApiError(400, "invalid JSON", "the request body is nested too deeply") from None
    if not isinstance(raw, dict):
        raise ApiError(400, "invalid request", "the request body must be a JSON object")
    try:
        parsed = AccessRequest.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise ApiError(400, "invalid request", problems) from None
    return parsed, "reader_token" in raw


def _visitor(request: Request, parsed: AccessRequest, token_mode: bool) -> Visitor:
    identity = _services(request).identity
    if token_mode:
        return identity.from_token(parsed.reader_token)
    return identity.visitor(request)


async def _decide(
    request: Request, visitor: Visitor, article: ArticleAccess
) -> tuple[Decision, ReaderState]:
    services = _services(request)
    now = services.clock()
    reader = await services.readers.state(
        request_facts(
            request,
            visitor.reader_id,
            services.settings.trusted_proxies,
            now,
            article.id,
            header=services.settings.client_ip_header,
        )
    )
    return await services.access.decide(article, reader, now), reader


async def decision_json(
    request: Request, article_id: str, decision: Decision, reader: ReaderState
) -> dict[str, Any]:
    """The API's answer for one decision: outcome, meter, copy and offers (never text).

    Copy, offers and the meter window come from the live policy this reader
    is under (dashboard edits and experiment variants included).
    """
    services = _services(request)
    settings = services.settings
    live = await services.policies.for_reader(reader.reader_id)
    used = getattr(decision, "used", None)
    limit = getattr(decision, "limit", None)
    words = wording(live.copy, decision, settings.site_name)
    resets = meter_window(live.policy, services.clock()).resets_at
    answer = DecisionResponse(
        article_id=article_id,
        decision=DecisionOut(
            outcome=decision.outcome,
            full_text=shows_full_text(decision),
            reason=getattr(decision, "reason", None),
            premium=bool(getattr(decision, "premium", False)),
        ),
        meter=MeterOut(
            used=used,
            limit=limit,
            remaining=max(limit - used, 0) if used is not None and limit is not None else None,
            resets_at=resets.isoformat() if resets is not None else None,
        ),
        copy_=CopyOut(
            banner=words.banner,
            banner_link=words.banner_link,
            heading=words.heading,
            body=words.body,
            subscribe_cta=words.subscribe_cta,
            offers_heading=words.offers_heading,
        ),
        offers=[
            OfferOut(
                id=o.id, name=o.name, price=o.price, interval=o.interval, line=o.line, trial=o.trial
            )
            for o in (offer_view(offer) for offer in live.offers)
        ],
        links=LinksOut(subscribe=settings.proxy.subscribe_url, register_="/account/login"),
    )
    return answer.model_dump(mode="json", by_alias=True, exclude={"reader_token"})


def _finish(
    request: Request,
    data: dict[str, Any],
    visitor: Visitor,
    reader: ReaderState,
    token_mode: bool,
) -> Response:
    services = _services(request)
    if token_mode:
        data["reader_token"] = services.identity.token(visitor.reader_id)
    response = _json(request, data)
    if not token_mode and not reader.verified_crawler:
        services.identity.remember(response, visitor)
    return response


def _failure(request: Request, exc: ApiError) -> Response:
    return _json(request, {"error": exc.error, "detail": exc.detail}, exc.status)


async def access(request: Request) -> Response:
    """``POST /api/v1/access``: the decision for the reader and article, without text."""
    try:
        parsed, token_mode = await _read(request)
    except ApiError as exc:
        return _failure(request, exc)
    facts = parsed.article.facts()
    known = await _stored(request, facts.id)
    if known is not None:
        facts = known.access_facts()
    visitor = _visitor(request, parsed, token_mode)
    decision, reader = await _decide(request, visitor, facts)
    data = await decision_json(request, facts.id, decision, reader)
    return _finish(request, data, visitor, reader, token_mode)


async def _stored(request: Request, article_id: str) -> Article | None:
    """The built-in store's article with this id or canonical URL, if any."""
    services = _services(request)
    found = await services.articles.by_ids([article_id])
    if article_id in found:
        return found[article_id]
    prefix = normalise_url(services.settings.public_url + "/articles/")
    if article_id.startswith(prefix.rstrip("/") + "/"):
        slug = article_id[len(prefix.rstrip("/")) + 1 :].split("/")[0]
        return await services.articles.by_slug(slug) if slug else None
    return None


def _blocks_html(request: Request, blocks: tuple[Any, ...]) -> str:
    env = _services(request).templates.env
    macros: Any = env.get_template("_blocks.html").module
    return str(macros.render_blocks(blocks)).strip()


async def article(request: Request) -> Response:
    """``POST /api/v1/article``: the decision, plus the body only when the decision allows."""
    try:
        parsed, token_mode = await _read(request)
    except ApiError as exc:
        return _failure(request, exc)
    article_id = parsed.article.id
    visitor = _visitor(request, parsed, token_mode)
    stored = await _stored(request, article_id)
    if stored is not None:
        decision, reader = await _decide(request, visitor, stored.access_facts())
        live = await _services(request).policies.for_reader(reader.reader_id)
        data = await decision_json(request, stored.id, decision, reader)
        data["teaser_html"] = _blocks_html(request, lede(stored, live.policy.lede_words))
        full = shows_full_text(decision)
        data["body_html"] = _blocks_html(request, stored.body) if full else None
        return _finish(request, data, visitor, reader, token_mode)
    gateway: Gateway | None = getattr(request.app.state, "gateway", None)
    try:
        page = await gateway.page_for(article_id) if gateway is not None else None
    except UpstreamError:
        return _failure(request, ApiError(502, "upstream unavailable", "try again in a moment"))
    if gateway is None or page is None:
        return _failure(request, ApiError(404, "unknown article", "no article has this id"))
    decision, reader = await _decide(request, visitor, page.article)
    data = await decision_json(request, page.canonical, decision, reader)
    data["teaser_html"] = gateway.body_html(page, full=False)
    data["body_html"] = gateway.body_html(page, full=True) if shows_full_text(decision) else None
    return _finish(request, data, visitor, reader, token_mode)


async def preflight(request: Request) -> Response:
    """CORS preflight for the configured origins."""
    response = Response(status_code=204, headers={"Vary": "Origin"})
    _cors(request, response)
    if "Access-Control-Allow-Origin" in response.headers:
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    return response


async def openapi_document(request: Request) -> Response:
    """``GET /api/openapi.json``: the API's OpenAPI 3.1 description."""
    services = _services(request)
    return JSONResponse(openapi(services.settings.public_url, services.identity.name))


async def snippet(_request: Request) -> Response:
    """The dependency-free JavaScript snippet that shows the banner or gate."""
    return FileResponse(
        SNIPPET,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )


async def snippet_css(request: Request) -> Response:
    """The banner and gate stylesheet, in the publisher's colours."""
    return Response(
        stylesheet(_services(request).settings),
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )


def routes() -> list[BaseRoute]:
    """The API's routes, and the snippet's assets."""
    return [
        Route("/api/v1/access", access, methods=["POST"], name="api_access"),
        Route("/api/v1/access", preflight, methods=["OPTIONS"], name="api_access_preflight"),
        Route("/api/v1/article", article, methods=["POST"], name="api_article"),
        Route("/api/v1/article", preflight, methods=["OPTIONS"], name="api_article_preflight"),
        Route("/api/openapi.json", openapi_document, name="openapi"),
        Route("/_meterwall/meterwall.js", snippet, name="snippet"),
        Route("/_meterwall/meterwall.css", snippet_css, name="snippet_css"),
    ]
