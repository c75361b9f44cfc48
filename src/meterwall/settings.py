"""Typed settings, from ``METERWALL_*`` environment variables and an optional TOML file.

Nested settings use a double underscore in the environment, e.g.
``METERWALL_POLICY__ANONYMOUS_LIMIT=3``.  Precedence: explicit arguments, then
the environment, then the TOML file (``--config`` or ``METERWALL_CONFIG``),
then defaults.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from meterwall.access.model import CalendarMonth, Policy, RollingDays
from meterwall.config_check import (
    ConfigProblem,
    merged,
    read_toml,
    secret_values,
    unknown_keys,
    unknown_variables,
)
from meterwall.gateway.cache.config import CacheSettings
from meterwall.gateway.config import ApiSettings, ProxySettings
from meterwall.storage.engine import UnsupportedDatabase, normalise_database_url


class PolicySettings(BaseModel):
    """The meter policy (see :class:`meterwall.access.model.Policy`)."""

    anonymous_limit: int = Field(5, ge=0, le=10_000)
    registered_limit: int = Field(5, ge=0, le=10_000)
    period: Literal["calendar_month", "rolling_days"] = "calendar_month"
    rolling_days: int = Field(30, ge=1, le=366)
    timezone: str = "UTC"
    exempt_sections: list[str] = []
    exempt_tags: list[str] = []
    lede_words: int = Field(0, ge=0, le=2_000)
    regwall: bool = False
    verified_crawlers_full_text: bool = True
    search_referral_allowance: int = Field(0, ge=0, le=100)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    def to_policy(self) -> Policy:
        """The pure domain policy these settings describe."""
        return Policy(
            anonymous_limit=self.anonymous_limit,
            registered_limit=self.registered_limit,
            period=RollingDays(self.rolling_days)
            if self.period == "rolling_days"
            else CalendarMonth(),
            timezone=self.timezone,
            exempt_sections=frozenset(s.casefold() for s in self.exempt_sections),
            exempt_tags=frozenset(t.casefold() for t in self.exempt_tags),
            lede_words=self.lede_words,
            regwall=self.regwall,
            verified_crawlers_full_text=self.verified_crawlers_full_text,
            search_referral_allowance=self.search_referral_allowance,
        )


class CopySettings(BaseModel):
    """Every sentence the meter and the gate show readers.

    ``{used}``, ``{limit}`` and ``{remaining}`` are replaced with the reader's
    meter; ``{site}`` with the site name.
    """

    banner: str = "{used} of {limit} stories this month"
    banner_link: str = "Get unlimited stories"
    gate_heading: str = "You've read {limit} of {limit} free articles."
    gate_heading_hard: str = "Subscribe to read this story."
    """The gate's heading under a hard paywall (a limit of 0), where counting makes no sense."""
    gate_body: str = "Subscribe to continue."
    premium_heading: str = "This story is for subscribers."
    premium_body: str = "Subscribe to read it and everything else on {site}."
    regwall_heading: str = "You've read {limit} free articles."
    regwall_body: str = "Register for free to keep reading."
    subscribe_cta: str = "Subscribe"
    offers_heading: str = "Cancel anytime, in one step."


class OfferSettings(BaseModel):
    """A plan a reader can buy."""

    id: str = "digital-monthly"
    name: str = "Unlimited digital access"
    price: Decimal = Field(Decimal("11"), ge=0)
    currency: str = "USD"
    interval: Literal["month", "year"] = "month"
    trial_days: int = Field(0, ge=0, le=365)
    intro_price: Decimal | None = None
    intro_periods: int = Field(0, ge=0, le=1)
    """How many billing periods the intro price covers: the first invoice only, for now."""
    coupons: dict[str, int] = {}
    description: str = ""

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError("currency must be a three-letter ISO code such as USD")
        return value.upper()


class AccountSettings(BaseModel):
    """Reader accounts: passwordless login links and server-side sessions."""

    login_link_minutes: int = Field(10, ge=1, le=60)
    login_links_per_email_per_hour: int = Field(5, ge=1, le=1_000)
    """Login e-mails per inbox per hour (``a+1@`` and ``a+2@`` are one inbox)."""
    login_links_per_inbox_per_day: int = Field(10, ge=1, le=10_000)
    """Login e-mails per inbox per day, however they are spread over the hours."""
    login_links_per_ip_per_hour: int = Field(20, ge=1, le=10_000)
    """Login e-mails asked for from one client network (IPv4 address, IPv6 /64) per hour."""
    session_days: int = Field(90, ge=1, le=400)
    max_sessions: int = Field(0, ge=0, le=1_000)
    """Concurrent sessions per account; 0 means no cap.  Past the cap the
    least recently seen session is ended."""


class MailSettings(BaseModel):
    """Outgoing mail (login links).

    ``backend = "smtp"`` sends through the configured server; ``"dev"`` prints
    each message to the console and lists it at ``/dev/mailbox`` (for the demo
    and local development only).
    """

    backend: Literal["smtp", "dev"] = "smtp"
    host: str = "localhost"
    port: int = Field(587, ge=1, le=65_535)
    tls: Literal["starttls", "ssl", "none"] = "starttls"
    user: str = ""
    password: SecretStr = SecretStr("")
    from_address: str = "news@example.com"
    timeout_seconds: float = Field(10, gt=0, le=120)


class StripeSettings(BaseModel):
    """Payments through Stripe (or the ``localstripe`` emulator in tests and the demo).

    Without ``secret_key`` checkout is switched off and the subscribe page
    says so.
    """

    secret_key: SecretStr | None = None
    publishable_key: str = ""
    webhook_secret: SecretStr | None = None
    api_base: str = "https://api.stripe.com"
    js_url: str = "https://js.stripe.com/v3/"
    api_version: str = "2024-06-20"
    past_due_grace_days: int = Field(7, ge=0, le=60)
    timeout_seconds: float = Field(20, gt=0, le=120)
    coupon_tries_per_hour: int = Field(10, ge=1, le=1_000)
    """Coupon codes one account may try per hour, right or wrong."""
    card_forms_per_hour: int = Field(20, ge=1, le=1_000)
    """Card forms (Stripe SetupIntents) one account may start per hour."""
    webhook_retention_days: int = Field(30, ge=1, le=3_650)
    """Stored webhook deliveries (raw payloads) are deleted this many days after arrival."""

    @field_validator("api_base", "js_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @property
    def enabled(self) -> bool:
        """Whether checkout can take payments."""
        return self.secret_key is not None and bool(self.secret_key.get_secret_value())


class GiftSettings(BaseModel):
    """Gift links: subscribers share single articles with non-subscribers."""

    monthly_allowance: int = Field(10, ge=0, le=1_000)
    expiry_days: int = Field(7, ge=1, le=365)
    max_recipients: int = Field(25, ge=1, le=10_000)
    """Distinct readers one link opens for; those who opened it keep the article."""


class GroupLicenceSettings(BaseModel):
    """Access without payment for a network (a campus, a library) or an email domain."""

    cidrs: list[str] = []
    email_domains: list[str] = []

    @field_validator("cidrs")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError(f"{cidr!r} is not an IP network such as 10.0.0.0/8") from exc
        return value

    @field_validator("email_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        return [d.strip().lstrip("@").casefold() for d in value if d.strip()]


class AnalyticsSettings(BaseModel):
    """Funnel events: how they are batched on their way to the database and how long kept."""

    retention_days: int = Field(395, ge=1, le=3_650)
    """Events older than this are deleted (at startup, daily, and by ``meterwall events purge``)."""
    flush_every_events: int = Field(500, ge=1, le=100_000)
    flush_interval_ms: int = Field(1_000, ge=10, le=60_000)
    max_buffered_events: int = Field(100_000, ge=100, le=10_000_000)
    """Past this many unwritten events (the database is down) the oldest are dropped."""


class AdminSettings(BaseModel):
    """The publisher's dashboard at ``/admin``: staff sessions, live policy, experiments."""

    session_hours: int = Field(12, ge=1, le=720)
    login_failures_allowed: int = Field(10, ge=1, le=1_000)
    """Failed sign-ins per email address, and per client network, per 15 minutes."""
    require_second_factor: bool = False
    """Require a one-time code (TOTP) at every staff sign-in.  Every staff member can edit
    the policy, so when on, each must enrol at ``/admin/second-factor`` before anything else."""
    policy_refresh_seconds: float = Field(5, ge=0, le=3_600)
    """How long a worker keeps the active policy before checking for a newer version."""
    experiment_min_readers: int = Field(1_000, ge=10, le=10_000_000)
    """Readers every variant needs before the results page may name a winner."""
    simulator_max_upload_mb: int = Field(50, ge=1, le=2_048)


class OpsSettings(BaseModel):
    """Operations: metrics, logs, health checks and shutdown."""

    metrics: bool = True
    """Serve Prometheus metrics at ``/metrics``."""
    metrics_token: SecretStr | None = None
    """When set, ``/metrics`` answers only requests with ``Authorization: Bearer <token>``."""
    metrics_networks: list[str] = ["127.0.0.0/8", "::1/128"]
    """Without a token, the client networks (CIDRs) that may read ``/metrics``: the
    client's address is worked out as for every request (``trusted_proxies``)."""
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = True
    """One log line per request (request id, route, status, duration, decision)."""
    readiness_timeout_seconds: float = Field(2, gt=0, le=60)
    graceful_shutdown_seconds: float = Field(30, ge=0, le=3_600)
    """On SIGTERM, how long requests in flight may take to finish."""
    max_body_bytes: int = Field(1024 * 1024, ge=16 * 1024, le=64 * 1024 * 1024)
    """The largest request body meterwall's own pages, forms and webhooks accept (413 above).
    Proxied requests have their own, larger limit."""
    body_timeout_seconds: float = Field(30, gt=0, le=600)
    """How long a request body may pause between two pieces before the request ends (408)."""

    @field_validator("metrics_networks")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(f"{value!r} is not an IP address or network") from None
        return values

    @field_validator("metrics_token")
    @classmethod
    def _long_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("the metrics token needs at least 16 characters")
        return value


ClientIpHeader = Literal["x-forwarded-for", "forwarded", "x-real-ip"]
"""The forwarding headers a trusted proxy may write the client's address in."""


class Settings(BaseSettings):
    """All of meterwall's settings."""

    model_config = SettingsConfigDict(
        env_prefix="METERWALL_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    site_name: str = "The Harbor Ledger"
    site_tagline: str = "Independent news for the coast and the country"
    public_url: str = "http://127.0.0.1:8000"
    data_dir: Path = Path("meterwall-data")
    database_url: str = ""
    secret_key: SecretStr | None = None
    old_secret_keys: list[SecretStr] = []
    cookie_name: str = "mw_reader"
    cookie_max_age_days: int = Field(400, ge=1, le=400)
    trusted_proxies: list[str] = []
    client_ip_header: ClientIpHeader = "x-forwarded-for"
    """The one header the proxies in ``trusted_proxies`` write the client's address in;
    the others are the client's own and are ignored."""
    policy: PolicySettings = PolicySettings()
    copy_text: CopySettings = CopySettings()
    offers: list[OfferSettings] = [OfferSettings()]
    accounts: AccountSettings = AccountSettings()
    mail: MailSettings = MailSettings()
    stripe: StripeSettings = StripeSettings()
    gifts: GiftSettings = GiftSettings()
    group_licences: GroupLicenceSettings = GroupLicenceSettings()
    analytics: AnalyticsSettings = AnalyticsSettings()
    admin: AdminSettings = AdminSettings()
    ops: OpsSettings = OpsSettings()
    article_cache_seconds: float = Field(5, ge=0, le=3_600)
    """How long each process may serve an article from memory; changes made by
    another process (an import, another worker) show within this time.  0 turns
    the cache off."""
    proxy: ProxySettings = ProxySettings()
    api: ApiSettings = ApiSettings()
    cache: CacheSettings = CacheSettings()
    meter_failure: Literal["open", "closed"] = "closed"
    new_readers_per_network_per_hour: int = Field(0, ge=0, le=10_000_000)
    """Distinct anonymous readers per client network (IPv4 address, IPv6 /64) whose reads are
    metered each hour; past it, a new reader from that network gets the teaser.  0 (the
    default) turns it off.  Offices, schools and carrier-grade NAT put many readers behind one
    address: set it well above their numbers, or leave it off."""
    meter_store: Literal["sql", "redis"] = "sql"
    redis_url: str = ""
    redis_cluster: bool = False
    redis_key_prefix: str = Field("mw:", max_length=64)
    redis_meter_buckets: int = Field(16_384, ge=1, le=1 << 24)
    redis_require_persistence: bool = False
    """Refuse to start when the meter's Redis keeps nothing on disk (by default: a warning)."""
    """Redis hashes the meters are spread over; about readers per period / 100."""
    store_timeout_ms: int = Field(250, ge=1, le=60_000)
    """How long one meter check may take before the meter counts as unavailable."""
    meter_purge_interval_seconds: float = Field(3_600, ge=0, le=7 * 86_400)
    """How often each app process deletes SQL meter rows whose period has ended (the first
    time at start); 0 turns it off (run ``meterwall meter purge`` instead).  Redis expires
    meters by itself."""
    database_timeout_ms: int = Field(5_000, ge=1, le=600_000)
    """How long connecting to PostgreSQL, or one statement, may take."""
    auto_migrate: bool = True
    demo: bool = False

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("public_url must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("client_ip_header", mode="before")
    @classmethod
    def _header_name(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for proxy in value:
            try:
                ipaddress.ip_network(proxy.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"{proxy!r} is not an IP address or network such as 10.0.0.0/8"
                ) from None
        return [p.strip() for p in value]

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value:
            return value
        try:
            return normalise_database_url(value)
        except UnsupportedDatabase as exc:
            raise ValueError(str(exc)) from None

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://")):
            raise ValueError("redis_url must start with redis:// or rediss://")
        return value

    @model_validator(mode="after")
    def _redis_needs_url(self) -> Settings:
        if self.meter_store == "redis" and not self.redis_url:
            raise ValueError(
                "meter_store is 'redis' but redis_url is empty: set METERWALL_REDIS_URL "
                "(e.g. redis://127.0.0.1:6379/0)"
            )
        if self.cache.backend == "redis" and not self.redis_url:
            raise ValueError(
                "cache.backend is 'redis' but redis_url is empty: set METERWALL_REDIS_URL "
                "(e.g. redis://127.0.0.1:6379/0)"
            )
        if self.redis_cluster and "redis" not in (self.meter_store, self.cache.backend):
            raise ValueError(
                "redis_cluster is set but meter_store is not 'redis' (nor is cache.backend)"
            )
        return self

    @model_validator(mode="after")
    def _needs_offer(self) -> Settings:
        if not self.offers:
            raise ValueError("at least one offer is needed")
        ids = [o.id for o in self.offers]
        if len(set(ids)) != len(ids):
            raise ValueError("offer ids must be unique")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'meterwall.db').resolve()}"

    @property
    def cookie_secure(self) -> bool:
        """Send the reader cookie over HTTPS only when the site is served over HTTPS."""
        return self.public_url.startswith("https://")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get("METERWALL_CONFIG")
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return tuple(sources)


class SettingsError(Exception):
    """Settings that cannot be used, with a message naming each bad setting."""


def _source(loc: tuple[str | int, ...], toml: Mapping[str, Any], config: str) -> str:
    """Where a bad value came from: `` (in FILE)`` when the TOML file set it and the
    environment did not, else `` (env NAME)``, the variable that sets it."""
    env = "METERWALL_" + "__".join(str(p).upper() for p in loc)
    if env in os.environ or env + "_FILE" in os.environ:
        return f" (env {env})"
    value: Any = toml
    for part in loc:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return f" (env {env})"
    return f" (in {config})"


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Load settings, turning every configuration mistake into one readable message.

    Unknown ``METERWALL_*`` variables and unknown TOML keys stop the load
    (naming the nearest valid setting), as does a TOML syntax error (with its
    line and column); secrets may come from ``*_FILE`` variables or the
    ``METERWALL_SECRETS_DIR`` folder.
    """
    if config is not None:
        if not config.is_file():
            raise SettingsError(f"config file not found: {config}")
        os.environ["METERWALL_CONFIG"] = str(config)
    path = os.environ.get("METERWALL_CONFIG", "")
    toml: dict[str, Any] = {}
    try:
        problems = unknown_variables(Settings, os.environ)
        if path:
            if not Path(path).is_file():
                raise ConfigProblem([f"config file not found: {path} (METERWALL_CONFIG)"])
            toml = read_toml(Path(path))
            problems += unknown_keys(Settings, toml, path)
        if problems:
            raise ConfigProblem(problems)
        secrets = secret_values(Settings, os.environ)
    except ConfigProblem as exc:
        listed = "\n".join(f"  {p}" for p in exc.problems)
        raise SettingsError(f"invalid settings:\n{listed}") from None
    try:
        return Settings(**merged(secrets, overrides))
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            if not error["loc"]:
                lines.append(f"  {error['msg'].removeprefix('Value error, ')}")
                continue
            name = ".".join(str(part) for part in error["loc"])
            lines.append(f"  {name}{_source(error['loc'], toml, path)}: {error['msg']}")
        raise SettingsError("invalid settings:\n" + "\n".join(lines)) from None
