"""The composition root: ``create_app(settings)`` wires every adapter to its port."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import anyio
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.templating import Jinja2Templates

from meterwall.access.service import AccessService
from meterwall.content.store import ArticleStore
from meterwall.identity.cookies import ReaderCookie
from meterwall.identity.csrf import CsrfTokens
from meterwall.identity.readers import Readers
from meterwall.metering.factory import build_meter_store
from meterwall.settings import Settings
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade
from meterwall.web.errors import exception_handlers
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
    csrf: CsrfTokens
    templates: Jinja2Templates
    clock: Callable[[], datetime]


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
    env.trim_blocks = True
    env.lstrip_blocks = True
    return templates


def utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def build_services(settings: Settings) -> Services:
    """Build every adapter the settings ask for."""
    keys = secret_keys(settings)
    engine = create_engine(settings.resolved_database_url)
    meter = build_meter_store(settings, engine)
    return Services(
        settings=settings,
        engine=engine,
        articles=ArticleStore(engine),
        access=AccessService(meter, settings.policy.to_policy(), settings.meter_failure),
        identity=ReaderIdentity(
            ReaderCookie(keys),
            name=settings.cookie_name,
            max_age=settings.cookie_max_age_days * 86_400,
            secure=settings.cookie_secure,
        ),
        readers=Readers(),
        csrf=CsrfTokens(keys),
        templates=build_templates(settings),
        clock=utc_now,
    )


def create_app(settings: Settings) -> Starlette:
    """The meterwall ASGI application for these settings."""
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await anyio.to_thread.run_sync(upgrade, settings.resolved_database_url)
        try:
            yield
        finally:
            await services.access.meter.close()
            await services.engine.dispose()

    app = Starlette(
        routes=routes(),
        exception_handlers=exception_handlers(),
        lifespan=lifespan,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(CanonicalPathMiddleware)
    app.state.services = services
    return app
