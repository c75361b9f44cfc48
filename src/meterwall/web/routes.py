"""The URL map of the built-in site."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from meterwall.web import account, billing, pages, privacy

STATIC = Path(__file__).parent / "static"


def routes() -> list[BaseRoute]:
    """Every route of the site."""
    return [
        Route("/", pages.home, name="home"),
        Route("/articles/{slug}", pages.article, name="article"),
        Route("/articles/{slug}/amp", pages.article, name="article_amp"),
        Route("/subscribe", pages.subscribe, name="subscribe"),
        Route("/account/meter", privacy.meter_page, name="meter"),
        Route("/account/meter/export.json", privacy.export_my_data, name="meter_export"),
        Route("/account/meter/delete", privacy.forget_me, methods=["POST"], name="forget"),
        Route("/account/delete", privacy.delete_account_form, name="delete_account_form"),
        Route(
            "/account/delete",
            privacy.delete_account_now,
            methods=["POST"],
            name="delete_account",
        ),
        Route("/account/deleted", privacy.account_deleted, name="account_deleted"),
        Route("/account", account.account_page, name="account"),
        Route("/account/login", account.login_form, name="login"),
        Route("/account/login", account.send_login_link, methods=["POST"], name="send_login"),
        Route("/account/login/sent", account.login_sent, name="login_sent"),
        Route("/account/confirm", account.confirm_form, name="confirm_form"),
        Route("/account/confirm", account.confirm, methods=["POST"], name="confirm"),
        Route("/account/logout", account.logout, methods=["POST"], name="logout"),
        Route("/account/sessions/end", account.end_session, methods=["POST"], name="end_session"),
        Route(
            "/account/sessions/end-others",
            account.end_other_sessions,
            methods=["POST"],
            name="end_other_sessions",
        ),
        Route("/account/gifts/revoke", account.revoke_gift, methods=["POST"], name="revoke_gift"),
        Route("/account/cancel", billing.cancel_form, name="cancel_form"),
        Route("/account/cancel", billing.cancel, methods=["POST"], name="cancel"),
        Route("/account/resume", billing.resume, methods=["POST"], name="resume"),
        Route("/checkout/{offer}", billing.checkout_form, name="checkout_form"),
        Route("/checkout/{offer}", billing.checkout, methods=["POST"], name="checkout"),
        Route(
            "/checkout/{offer}/intent",
            billing.checkout_intent,
            methods=["POST"],
            name="checkout_intent",
        ),
        Route("/webhooks/stripe", billing.stripe_webhook, methods=["POST"], name="stripe_webhook"),
        Route("/gifts/new", billing.gift_form, name="gift_form"),
        Route("/gifts", billing.create_gift, methods=["POST"], name="create_gift"),
        Route("/dev/mailbox", account.dev_mailbox, name="dev_mailbox"),
        Route("/feed.xml", pages.feed, name="feed"),
        Route("/sitemap.xml", pages.sitemap, name="sitemap"),
        Route("/robots.txt", pages.robots, name="robots"),
        Route("/healthz", pages.healthz, name="healthz"),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]
