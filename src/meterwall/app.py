"""The composition root: ``create_app(settings)`` wires every adapter to its port."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import anyio
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.templating import Jinja2Templates

from meterwall.access.service import AccessService
from meterwall.admin.provider import PolicyProvider
from meterwall.admin.routes import admin_routes
from meterwall.admin.wiring import (
    Dashboard,
    build_dashboard,
    build_event_recorder,
    build_policy_provider,
)
from meterwall.analytics.recorder import EventRecorder
from meterwall.billing.ports import PaymentGateway
from meterwall.billing.service import BillingService
from meterwall.billing.store import BillingStore
from meterwall.billing.webhooks import Webhooks
from meterwall.content.cache import CachedArticleStore
from meterwall.content.store import ArticleStore
from meterwall.gateway.cache.purge import purge_routes
from meterwall.identity.accounts import AccountStore
from meterwall.identity.cookies import ReaderCookie
from meterwall.identity.crawlers import CrawlerVerifier, SystemResolver
from meterwall.identity.csrf import CsrfTokens
from meterwall.identity.gifts import GiftLinks
from meterwall.identity.licences import GroupLicences
from meterwall.identity.loginlinks import LoginLinks
from meterwall.identity.mail import Mailer, build_mailer
from meterwall.identity.members import Members
from meterwall.identity.readers import Readers
from meterwall.identity.session_cache import AnonymousAwareSessionStore
from meterwall.metering.durability import check_durability
from meterwall.metering.factory import build_meter_store
from meterwall.metering.housekeeping import build_meter_purger
from meterwall.ops.instrument import InstrumentedMeterStore, ObservedAccessService
from meterwall.ops.metrics import Metrics
from meterwall.ops.middleware import RequestObserver
from meterwall.ops.routes import ops_routes
from meterwall.settings import Settings
from meterwall.storage.counters import Counters
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade
from meterwall.web.api import routes as api_routes
from meterwall.web.errors import exception_handlers
from meterwall.web.limits import BodyLimitMiddleware
from meterwall.web.middleware import CanonicalPathMiddleware, SecurityHeadersMiddleware
from meterwall.web.reader import ReaderIdentity
from meterwall.web.routes import routes

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "web" / "templates"


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a request handler may use, built once per app."""

    settings: Settings
    engine: AsyncEngine
    articles: ArticleStore
    access: AccessService
    identity: ReaderIdentity
    readers: Readers
    members: Members
    login_links: LoginLinks
    mailer: Mailer
    billing: BillingService
    webhooks: Webhooks
    csrf: CsrfTokens
    templates: Jinja2Templates
    clock: Callable[[], datetime]
    metrics: Metrics
    events: EventRecorder
    policies: PolicyProvider
    dashboard: Dashboard


def secret_keys(settings: Settings) -> list[str]:
    """The cookie-signing secrets, newest first.

    Without a configured ``secret_key`` a random one is created once in
    ``data_dir/secret.key`` and reused, which suits a single node; several
    nodes must share a configured key.
    """
    if settings.secret_key is not None:
        newest = settings.secret_key.get_secret_value()
    else:
        path = settings.data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
            log.warning("no secret_key set; created %s", path)
        newest = path.read_text().strip()
    return [newest, *(k.get_secret_value() for k in settings.old_secret_keys)]


def build_templates(settings: Settings) -> Jinja2Templates:
    """The Jinja2 environment with the site's globals."""
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.globals["site_name"] = settings.site_name
    env.globals["site_tagline"] = settings.site_tagline
    env.globals["payments_enabled"] = settings.stripe.enabled
    env.trim_blocks = True
    env.lstrip_blocks = True
    return templates


def utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def build_gateway(settings: Settings) -> PaymentGateway | None:
    """The payment gateway (Stripe, or localstripe at another API base), if configured."""
    if not settings.stripe.enabled:
        return None
    from meterwall.billing.stripe import StripeGateway

    return StripeGateway(settings.stripe)


def build_services(settings: Settings) -> Services:
    """Build every adapter the settings ask for."""
    keys = secret_keys(settings)
    engine = create_engine(
        settings.resolved_database_url, timeout=settings.database_timeout_ms / 1000
    )
    accounts = AccountStore(engine)
    gateway = build_gateway(settings)
    billing_store = BillingStore(engine)
    billing = BillingService(settings, billing_store, accounts, gateway, Counters(engine))
    members = Members(
        accounts,
        AnonymousAwareSessionStore(engine, settings.accounts),
        billing,
        GroupLicences(engine, settings.group_licences),
        GiftLinks(engine, keys, settings.gifts),
    )
    webhook_secret = settings.stripe.webhook_secret
    metrics = Metrics()
    meter = InstrumentedMeterStore(build_meter_store(settings, engine), metrics)
    policies = build_policy_provider(settings, engine)
    return Services(
        settings=settings,
        engine=engine,
        articles=(
            CachedArticleStore(engine, settings.article_cache_seconds)
            if settings.article_cache_seconds > 0
            else ArticleStore(engine)
        ),
        access=ObservedAccessService(
            meter,
            settings.policy.to_policy(),
            settings.meter_failure,
            metrics=metrics,
            policies=policies.policy_for,
            new_readers_per_network=settings.new_readers_per_network_per_hour,
        ),
        identity=ReaderIdentity(
            ReaderCookie(keys),
            name=settings.cookie_name,
            max_age=settings.cookie_max_age_days * 86_400,
            secure=settings.cookie_secure,
        ),
        readers=Readers(
            members,
            crawlers=CrawlerVerifier(SystemResolver()),
            own_hosts=frozenset({urlsplit(settings.public_url).hostname or ""}),
        ),
        members=members,
        login_links=LoginLinks(engine, settings.accounts, settings.public_url),
        mailer=build_mailer(settings.mail),
        billing=billing,
        webhooks=Webhooks(
            engine,
            billing_store,
            gateway,
            [webhook_secret.get_secret_value()] if webhook_secret else [],
        ),
        csrf=CsrfTokens(keys),
        templates=build_templates(settings),
        clock=utc_now,
        metrics=metrics,
        events=build_event_recorder(settings, engine, keys[0], policies),
        policies=policies,
        dashboard=build_dashboard(settings, engine, keys),
    )


def create_app(settings: Settings) -> Starlette:
    """The meterwall ASGI application for these settings."""
    services = build_services(settings)
    gateway = None
    if settings.proxy.enabled:
        from meterwall.gateway.proxy import Gateway

        gateway = Gateway(services)
    # The clock is looked up at each purge: tests replace ``services.clock``.
    purger = build_meter_purger(settings, services.engine, lambda: services.clock())

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await anyio.to_thread.run_sync(upgrade, settings.resolved_database_url)
        await check_durability(services.access.meter, required=settings.redis_require_persistence)
        services.events.start()
        if purger is not None:
            purger.start()
        try:
            yield
        finally:
            if purger is not None:
                await purger.stop()
            await services.events.stop()
            await services.access.meter.close()
            await services.engine.dispose()
            if gateway is not None:
                await gateway.aclose()

    app = Starlette(
        routes=[
            *routes(),
            *ops_routes(settings.ops),
            *api_routes(),
            *admin_routes(),
            *purge_routes(),
        ],
        exception_handlers=exception_handlers(),
        lifespan=lifespan,
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.ops.max_body_bytes,
        timeout=settings.ops.body_timeout_seconds,
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.public_url.startswith("https://"))
    app.add_middleware(CanonicalPathMiddleware)
    if gateway is not None:
        from meterwall.gateway.proxy import GatewayMiddleware

        app.add_middleware(GatewayMiddleware, gateway=gateway)
    app.add_middleware(
        RequestObserver,
        metrics=services.metrics,
        trusted_proxies=settings.trusted_proxies,
        access_log=settings.ops.access_log,
    )
    app.state.services = services
    app.state.gateway = gateway
    app.state.meter_purger = purger
    return app
