"""Settings of the upstream cache (the ``cache`` section).

They live here rather than in :mod:`meterwall.settings` so the options are
documented next to the code that reads them; ``settings.py`` only includes
them.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

_MiB = 1024 * 1024
_YEAR = 365 * 86_400
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_NEVER_VARY = frozenset({"cookie", "authorization", "host", "x-forwarded-for", "forwarded"})

DEFAULT_IGNORED_PARAMS = [
    r"^utm_",
    r"^(fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|_gl|gift)$",
]
DEFAULT_IGNORED_COOKIES = [r"^_ga", r"^_gid$", r"^_gat", r"^_gcl_", r"^_fbp$", r"^__utm", r"^_hj"]


def _patterns(values: list[str]) -> list[str]:
    for value in values:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from None
    return values


class CacheSettings(BaseModel):
    """The shared cache of upstream responses in proxy mode.

    Responses are kept as the upstream's caching headers allow
    (``s-maxage``, ``max-age``, ``Expires``, ``stale-while-revalidate``,
    ``stale-if-error``); ``default_ttl`` and the two ``stale_*`` values
    apply when the upstream names none.  A response that sets a cookie, is
    ``private`` or ``no-store`` is never kept, and requests that carry an
    ``Authorization`` header or a cookie other than meterwall's own and the
    ``ignored_cookies`` always go to the upstream.
    """

    enabled: bool = False
    backend: Literal["memory", "redis"] = "memory"
    """``memory`` keeps responses in each process; ``redis`` shares them (uses ``redis_url``)."""
    max_bytes: int = Field(256 * _MiB, ge=_MiB, le=1024 * 1024 * _MiB)
    """Upper bound of the in-memory cache (least recently used responses go first)."""
    max_entry_bytes: int = Field(8 * _MiB, ge=64 * 1024, le=256 * _MiB)
    """Larger responses are passed through, never kept."""
    memo_max_bytes: int = Field(256 * _MiB, ge=_MiB, le=1024 * 1024 * _MiB)
    """Upper bound of the prepared (analysed and cut) pages each process keeps."""
    default_ttl: int = Field(60, ge=0, le=_YEAR)
    """Seconds a response without caching headers stays fresh (0: keep only to revalidate)."""
    stale_while_revalidate: int = Field(30, ge=0, le=_YEAR)
    """Seconds a stale response may still be served while it is refreshed in the background."""
    stale_if_error: int = Field(300, ge=0, le=_YEAR)
    """Seconds a stale response may still be served while the upstream is down or failing."""
    vary: list[str] = []
    """Request headers that select a different upstream page (e.g. ``Accept-Language``)."""
    ignored_params: list[str] = DEFAULT_IGNORED_PARAMS
    """Query parameters (regular expressions) that never change the page: dropped from the key."""
    ignored_cookies: list[str] = DEFAULT_IGNORED_COOKIES
    """Cookies (regular expressions on names) that never change the page, such as analytics."""
    purge_token: SecretStr | None = None
    """Bearer token of ``POST /_meterwall/purge`` (and the Ghost webhook secret); unset: off."""
    timeout_ms: int = Field(500, ge=1, le=60_000)
    """How long one Redis call may take before the cache counts as unavailable (a miss)."""

    @field_validator("vary")
    @classmethod
    def _header_names(cls, values: list[str]) -> list[str]:
        names = []
        for value in values:
            name = value.strip().lower()
            if not _TOKEN.match(name):
                raise ValueError(f"{value!r} is not an HTTP header name")
            if name in _NEVER_VARY:
                raise ValueError(f"{value!r} cannot select a shared page")
            names.append(name)
        return names

    @field_validator("ignored_params", "ignored_cookies")
    @classmethod
    def _valid_patterns(cls, values: list[str]) -> list[str]:
        return _patterns(values)

    @field_validator("purge_token")
    @classmethod
    def _long_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("the purge token needs at least 16 characters")
        return value
