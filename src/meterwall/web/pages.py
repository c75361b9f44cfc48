"""Request handlers of the built-in news site."""

from __future__ import annotations

from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from meterwall.access.model import ReaderState
from meterwall.content.teaser import lede
from meterwall.web.client import request_facts
from meterwall.web.reader import Visitor
from meterwall.web.views import article_view, offer_view, wording

if TYPE_CHECKING:
    from meterwall.app import Services

PRIVATE = {"Cache-Control": "private, no-store", "Vary": "Cookie"}
"""Headers of every response that depends on who is reading."""


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _page(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    services = _services(request)
    return services.templates.TemplateResponse(request, template, context, status_code=status_code)


def article_url(request: Request, slug: str) -> str:
    """The canonical public URL of an article."""
    return f"{_services(request).settings.public_url}/articles/{slug}"


async def home(request: Request) -> Response:
    """The front page: every article, newest first."""
    services = _services(request)
    articles = await services.articles.latest(limit=100)
    return _page(request, "home.html", {"articles": articles})


async def article(request: Request) -> Response:
    """An article page (or its AMP variant): one decision per article, on every route."""
    services = _services(request)
    found = await services.articles.by_slug(request.path_params["slug"])
    if found is None:
        raise HTTPException(404, "There is no article at this address.")
    if request.method == "HEAD":
        # A HEAD request reads nothing, so it must not spend a read of the meter.
        return Response(status_code=200, headers=PRIVATE, media_type="text/html")
    amp = request.url.path.endswith("/amp") or (
        request.query_params.get("outputType", "").lower() == "amp"
    )
    visitor = services.identity.visitor(request)
    now = services.clock()
    reader = await services.readers.state(
        request_facts(
            request,
            visitor.reader_id,
            services.settings.trusted_proxies,
            now,
            found.id,
            header=services.settings.client_ip_header,
        )
    )
    facts = found.access_facts()
    decision = await services.access.decide(facts, reader, now)
    services.events.record_decision(
        decision, facts, reader_id=reader.reader_id, at=now, referer=request.headers.get("referer")
    )
    settings = services.settings
    live = await services.policies.for_reader(reader.reader_id)
    view = article_view(
        found,
        decision,
        live.policy,
        article_url(request, found.slug),
        settings.site_name,
    )
    response = _page(
        request,
        "article_amp.html" if amp else "article.html",
        {
            "view": view,
            "words": wording(live.copy, decision, settings.site_name),
            "offers": [offer_view(o) for o in live.offers],
        },
    )
    response.headers.update(PRIVATE)
    services.identity.remember(response, visitor)
    return response


async def subscribe(request: Request) -> Response:
    """The plans on offer, with the reader's meter."""
    services = _services(request)
    visitor = services.identity.visitor(request)
    reader = await _reader(request, visitor)
    report = await services.access.report(reader, services.clock())
    live = await services.policies.for_reader(reader.reader_id)
    response = _page(
        request,
        "subscribe.html",
        {
            "offers": [offer_view(o) for o in live.offers],
            "used": len(report.reads),
            "limit": report.limit,
        },
    )
    response.headers.update(PRIVATE)
    services.identity.remember(response, visitor)
    return response


async def _reader(request: Request, visitor: Visitor) -> ReaderState:
    """The reader state outside an article: registered readers get their own meter and limit."""
    services = _services(request)
    return await services.readers.state(
        request_facts(
            request,
            visitor.reader_id,
            services.settings.trusted_proxies,
            services.clock(),
            header=services.settings.client_ip_header,
        )
    )


async def feed(request: Request) -> Response:
    """RSS 2.0 feed of the latest articles: teasers only, for every reader."""
    services = _services(request)
    settings = services.settings
    items = []
    lede_words = (await services.policies.base()).policy.lede_words
    for item in await services.articles.latest(limit=50):
        teaser = " ".join(b.text for b in lede(item, lede_words))
        items.append(
            {
                "article": item,
                "url": article_url(request, item.slug),
                "summary": teaser,
                "date": format_datetime(item.published_at) if item.published_at else "",
            }
        )
    page = _page(request, "feed.xml", {"items": items, "home": settings.public_url})
    return _typed(page, "application/rss+xml; charset=utf-8")


def _typed(response: Response, media_type: str) -> Response:
    response.headers["Content-Type"] = media_type
    return response


async def sitemap(request: Request) -> Response:
    """The article URLs, for search engines."""
    services = _services(request)
    items = [
        {"url": article_url(request, a.slug), "date": a.published_at}
        for a in await services.articles.latest(limit=50_000)
    ]
    return _typed(_page(request, "sitemap.xml", {"items": items}), "application/xml; charset=utf-8")


async def robots(request: Request) -> Response:
    """robots.txt pointing at the sitemap."""
    url = _services(request).settings.public_url
    return PlainTextResponse(f"User-agent: *\nAllow: /\nSitemap: {url}/sitemap.xml\n")


async def healthz(_request: Request) -> Response:
    """Liveness: the process answers."""
    return PlainTextResponse("ok")
