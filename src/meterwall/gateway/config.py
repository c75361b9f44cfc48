"""Settings of proxy mode and the decision API (the ``proxy`` and ``api`` sections).

They live here rather than in :mod:`meterwall.settings` so the gateway's
options are documented next to the code that reads them; ``settings.py``
only includes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from meterwall.access.model import AccessLevel

_CSS_VALUE = re.compile(r"^[#\w\s.,%()'\"-]*$")
_MiB = 1024 * 1024


class GateStyle(BaseModel):
    """Colours and type of the banner and gate that meterwall inserts into a publisher's pages.

    Each value is a plain CSS value; anything that could end the declaration
    (``;``, braces, angle brackets) is refused.
    """

    accent: str = "#0b5cad"
    accent_text: str = "#ffffff"
    background: str = "#ffffff"
    banner_background: str = "#f3efe6"
    text: str = "#1a1a1a"
    muted: str = "#5b5b5b"
    border: str = "#d9d4cc"
    font_family: str = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif'
    heading_font_family: str = 'Georgia, "Times New Roman", serif'
    radius: str = "3px"

    @field_validator("*")
    @classmethod
    def _plain_css(cls, value: str) -> str:
        if not _CSS_VALUE.match(value) or len(value) > 200:
            raise ValueError("must be a plain CSS value (no ; { } < > or backslashes)")
        return value

    def css_variables(self) -> str:
        """The style as CSS custom properties on ``:root``."""
        pairs = self.model_dump()
        body = ";".join(f"--mw-{k.replace('_', '-')}:{v}" for k, v in pairs.items())
        return f":root{{{body}}}"


def _patterns(values: list[str]) -> list[str]:
    for value in values:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from None
    return values


DEFAULT_OWN_PATHS = [
    "/_meterwall/",
    "/api/v1/",
    "/api/openapi.json",
    "/subscribe",
    "/account",
    "/checkout/",
    "/webhooks/",
    "/gifts",
    "/healthz",
    "/readyz",
    "/metrics",
]


class ProxySettings(BaseModel):
    """Reverse-proxy mode: gate an existing site that meterwall sits in front of.

    Patterns are Python regular expressions searched in the request path
    (with its query string for ``blocked_paths`` and ``allow_paths``).
    """

    upstream: str = ""
    """The publisher's site as meterwall reaches it, e.g. ``http://127.0.0.1:8080``."""
    preserve_host: bool = False
    """Send the public ``Host`` header upstream instead of the upstream's own."""
    article_patterns: list[str] = []
    """Paths that are articles; empty means recognise articles by their markup."""
    exclude_patterns: list[str] = []
    """Paths that are never articles, whatever their markup says."""
    free_patterns: list[str] = []
    premium_patterns: list[str] = []
    body_selector: str = ""
    """CSS selector of the article body; empty means find it automatically."""
    lede_paragraphs: int = Field(1, ge=1, le=10)
    """Paragraphs a gated reader sees (``policy.lede_words``, when set, counts words instead)."""
    lede_max_words: int = Field(60, ge=10, le=1000)
    """The most words a lede keeps, however long its paragraphs (and never 40% of the body)."""
    subscribe_url: str = "/subscribe"
    own_paths: list[str] = DEFAULT_OWN_PATHS
    """Path prefixes meterwall answers itself instead of the upstream."""
    blocked_paths: list[str] = []
    """Paths (with query) answered 404 for every reader.  Content APIs need no entry:
    their answers are cut for readers who are not entitled."""
    allow_paths: list[str] = []
    """Paths (with query) the publisher opens: passed through uncut for every reader,
    whatever they carry.  Their answers are the publisher's call, not meterwall's."""
    timeout_seconds: float = Field(15, gt=0, le=300)
    max_page_bytes: int = Field(8 * _MiB, ge=64 * 1024, le=256 * _MiB)
    style: GateStyle = GateStyle()

    @field_validator("upstream")
    @classmethod
    def _upstream(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("upstream must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("article_patterns", "exclude_patterns", "free_patterns", "premium_patterns")
    @classmethod
    def _valid_patterns(cls, values: list[str]) -> list[str]:
        return _patterns(values)

    @field_validator("blocked_paths", "allow_paths")
    @classmethod
    def _valid_paths(cls, values: list[str]) -> list[str]:
        return _patterns(values)

    @field_validator("own_paths")
    @classmethod
    def _own(cls, values: list[str]) -> list[str]:
        for value in values:
            if not value.startswith("/"):
                raise ValueError(f"{value!r} must start with /")
        return values

    @field_validator("body_selector")
    @classmethod
    def _selector(cls, value: str) -> str:
        if value:
            from selectolax.lexbor import LexborHTMLParser, SelectolaxError

            try:
                LexborHTMLParser("<p></p>").css(value)
            except (SelectolaxError, ValueError) as exc:
                raise ValueError(f"{value!r} is not a valid CSS selector") from exc
        return value

    @property
    def enabled(self) -> bool:
        """Whether proxy mode is on (an upstream is configured)."""
        return bool(self.upstream)


class ApiSettings(BaseModel):
    """The decision API used by client-rendered and edge-rendered sites."""

    allowed_origins: list[str] = []
    """Other origins (``https://www.example.com``) whose pages may call the API with cookies."""

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        for value in values:
            if not value.startswith(("http://", "https://")) or value.count("/") != 2:
                raise ValueError(f"{value!r} must be an origin such as https://www.example.com")
        return [v.rstrip("/") for v in values]


@dataclass(frozen=True, slots=True)
class PageRules:
    """What page analysis needs to know, compiled once from the settings."""

    public_url: str
    upstream_url: str = ""
    article_patterns: tuple[re.Pattern[str], ...] = ()
    exclude_patterns: tuple[re.Pattern[str], ...] = ()
    free_patterns: tuple[re.Pattern[str], ...] = ()
    premium_patterns: tuple[re.Pattern[str], ...] = ()
    body_selector: str = ""
    lede_paragraphs: int = 1
    lede_words: int = 0
    lede_max_words: int = 60
    default_access: AccessLevel = AccessLevel.METERED

    @classmethod
    def from_settings(cls, proxy: ProxySettings, public_url: str, lede_words: int = 0) -> PageRules:
        """Compile the rules of ``proxy`` for a site served at ``public_url``."""

        def compiled(values: list[str]) -> tuple[re.Pattern[str], ...]:
            return tuple(re.compile(v) for v in values)

        return cls(
            public_url=public_url.rstrip("/"),
            upstream_url=proxy.upstream,
            article_patterns=compiled(proxy.article_patterns),
            exclude_patterns=compiled(proxy.exclude_patterns),
            free_patterns=compiled(proxy.free_patterns),
            premium_patterns=compiled(proxy.premium_patterns),
            body_selector=proxy.body_selector,
            lede_paragraphs=proxy.lede_paragraphs,
            lede_max_words=proxy.lede_max_words,
            lede_words=lede_words,
        )


Outcome = Literal["full", "teaser"]
