"""Typed settings, from ``METERWALL_*`` environment variables and an optional TOML file.

Nested settings use a double underscore in the environment, e.g.
``METERWALL_POLICY__ANONYMOUS_LIMIT=3``.  Precedence: explicit arguments, then
the environment, then the TOML file (``--config`` or ``METERWALL_CONFIG``),
then defaults.
"""

from __future__ import annotations

import os
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
        )


class CopySettings(BaseModel):
    """Every sentence the meter and the gate show readers.

    ``{used}``, ``{limit}`` and ``{remaining}`` are replaced with the reader's
    meter; ``{site}`` with the site name.
    """

    banner: str = "{used} of {limit} stories this month"
    banner_link: str = "Get unlimited stories"
    gate_heading: str = "You've read {limit} of {limit} free articles."
    gate_body: str = "Subscribe to continue."
    premium_heading: str = "This story is for subscribers."
    premium_body: str = "Subscribe to read it and everything else on {site}."
    regwall_heading: str = "You've read {limit} free articles."
    regwall_body: str = "Register for free to keep reading."
    subscribe_cta: str = "Subscribe"
    offers_heading: str = "Get unlimited {site} journalism."


class OfferSettings(BaseModel):
    """A plan a reader can buy."""

    id: str = "digital-monthly"
    name: str = "Unlimited digital access"
    price: Decimal = Field(Decimal("11"), ge=0)
    currency: str = "USD"
    interval: Literal["month", "year"] = "month"
    trial_days: int = Field(0, ge=0, le=365)
    intro_price: Decimal | None = None
    intro_periods: int = Field(0, ge=0)
    coupons: dict[str, int] = {}
    description: str = ""

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError("currency must be a three-letter ISO code such as USD")
        return value.upper()


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
    policy: PolicySettings = PolicySettings()
    copy_text: CopySettings = CopySettings()
    offers: list[OfferSettings] = [OfferSettings()]
    meter_failure: Literal["open", "closed"] = "closed"
    auto_migrate: bool = True
    demo: bool = False

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("public_url must start with http:// or https://")
        return value.rstrip("/")

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


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Load settings, turning validation errors into one readable message."""
    if config is not None:
        if not config.is_file():
            raise SettingsError(f"config file not found: {config}")
        os.environ["METERWALL_CONFIG"] = str(config)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"])
            env = "METERWALL_" + "__".join(str(p).upper() for p in error["loc"])
            lines.append(f"  {name} (env {env}): {error['msg']}")
        raise SettingsError("invalid settings:\n" + "\n".join(lines)) from None
