"""The decision API's request and response bodies, as typed models.

The handlers build their answers from these models and the OpenAPI document
is generated from them (:mod:`meterwall.web.openapi`), so the document
cannot drift from what the API accepts and sends.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from meterwall.access.model import AccessLevel, ArticleAccess
from meterwall.gateway.page import normalise_url

MAX_REQUEST_BYTES = 16 * 1024
"""The largest request body the API reads (413 above)."""


class ArticleIn(BaseModel):
    """The article a caller asks about."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"id": "https://news.example.com/2026/12/harbor-vote/"}]},
    )

    id: str = Field(
        min_length=1,
        max_length=2048,
        description="The article's canonical URL (normalised), or its id in meterwall's store.",
    )
    access: AccessLevel = Field(
        AccessLevel.METERED, description="Used when meterwall does not know the article."
    )
    section: str = Field("", max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=100)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        is_url = value[:8].casefold().startswith(("http://", "https://"))
        return normalise_url(value) if is_url else value

    def facts(self) -> ArticleAccess:
        """The access facts the caller gave."""
        return ArticleAccess(
            id=self.id,
            access=self.access,
            section=self.section.strip().casefold(),
            tags=frozenset(t.strip().casefold() for t in self.tags if t.strip()),
        )


class AccessRequest(BaseModel):
    """The body of ``POST /api/v1/access`` and ``POST /api/v1/article``."""

    model_config = ConfigDict(extra="forbid")

    article: ArticleIn
    reader_token: str | None = Field(
        None,
        max_length=512,
        description=(
            "Name the reader by a token instead of the cookie: send it (null the first time) "
            "and keep the `reader_token` of the answer for the next call."
        ),
    )


class DecisionOut(BaseModel):
    """What the reader may see."""

    outcome: Literal["granted", "metered", "regwall", "paywall", "crawler"]
    full_text: bool
    reason: str | None = Field(description="Why full access was granted, when it was.")
    premium: bool


class MeterOut(BaseModel):
    """The reader's meter this period (null when the meter does not apply)."""

    used: int | None
    limit: int | None
    remaining: int | None
    resets_at: str | None = Field(description="ISO 8601 time the period ends, if it does.")


class CopyOut(BaseModel):
    """The publisher's sentences for the banner and the gate, filled in for this reader."""

    banner: str
    banner_link: str
    heading: str
    body: str
    subscribe_cta: str
    offers_heading: str


class OfferOut(BaseModel):
    """One plan on offer."""

    id: str
    name: str
    price: str
    interval: str
    line: str
    trial: str


class LinksOut(BaseModel):
    """Where the banner and gate send the reader."""

    subscribe: str
    register_: str = Field(alias="register")

    model_config = ConfigDict(populate_by_name=True)


class DecisionResponse(BaseModel):
    """The answer of ``POST /api/v1/access``: never any article text."""

    article_id: str
    decision: DecisionOut
    meter: MeterOut
    copy_: CopyOut = Field(alias="copy")
    offers: list[OfferOut]
    links: LinksOut
    reader_token: str | None = Field(
        None, description="Present when the request named `reader_token`: keep it."
    )

    model_config = ConfigDict(populate_by_name=True)


class ArticleResponse(DecisionResponse):
    """The answer of ``POST /api/v1/article``: the teaser, and the body when allowed."""

    teaser_html: str
    body_html: str | None = Field(description="Null unless the decision allows full text.")


class ErrorOut(BaseModel):
    """A request the API could not answer, and why."""

    error: str
    detail: str
