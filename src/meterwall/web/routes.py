"""The URL map of the built-in site."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from meterwall.web import pages

STATIC = Path(__file__).parent / "static"


def routes() -> list[BaseRoute]:
    """Every route of the site."""
    return [
        Route("/", pages.home, name="home"),
        Route("/articles/{slug}", pages.article, name="article"),
        Route("/articles/{slug}/amp", pages.article, name="article_amp"),
        Route("/subscribe", pages.subscribe, name="subscribe"),
        Route("/account/meter", pages.meter_page, name="meter"),
        Route("/account/meter/delete", pages.forget_me, methods=["POST"], name="forget"),
        Route("/feed.xml", pages.feed, name="feed"),
        Route("/sitemap.xml", pages.sitemap, name="sitemap"),
        Route("/robots.txt", pages.robots, name="robots"),
        Route("/healthz", pages.healthz, name="healthz"),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]
