"""What templates receive: view objects built from the domain, never raw gated text.

A gated reader's view is built from the teaser alone, so no template can
leak the body by accident: the text is simply not there to render.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from string import Formatter
from typing import Any

from meterwall.access.model import Decision, Policy, shows_full_text
from meterwall.content.jsonld import news_article, script_json
from meterwall.content.model import Article, Block, Image
from meterwall.content.teaser import lede
from meterwall.settings import CopySettings, OfferSettings

_SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def money(amount: Decimal, currency: str) -> str:
    """``$11`` or ``$11.50``: whole amounts without cents, as news sites show prices."""
    symbol = _SYMBOLS.get(currency.upper(), currency.upper() + " ")
    if amount == amount.to_integral_value():
        return f"{symbol}{int(amount)}"
    return f"{symbol}{amount:.2f}"


@dataclass(frozen=True, slots=True)
class OfferView:
    """One plan as a reader sees it."""

    id: str
    name: str
    price: str
    interval: str
    line: str
    trial: str
    intro: str
    description: str


def offer_view(offer: OfferSettings) -> OfferView:
    """Present an offer: ``Unlimited digital access $11/month.``"""
    price = money(offer.price, offer.currency)
    trial = f"{offer.trial_days}-day free trial" if offer.trial_days else ""
    intro = ""
    if offer.intro_price is not None:
        periods = offer.intro_periods or 1
        unit = offer.interval + ("s" if periods > 1 else "")
        intro = f"{money(offer.intro_price, offer.currency)}/{offer.interval} for {periods} {unit}"
    return OfferView(
        id=offer.id,
        name=offer.name,
        price=price,
        interval=offer.interval,
        line=f"{offer.name} {price}/{offer.interval}.",
        trial=trial,
        intro=intro,
        description=offer.description,
    )


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, **values: Any) -> str:
    """Fill ``{used}``-style fields in publisher copy; unknown fields are left as written."""
    try:
        return Formatter().vformat(template, (), _Blank(values))
    except (ValueError, IndexError, AttributeError):
        return template


@dataclass(frozen=True, slots=True)
class Wording:
    """The publisher's copy, filled in for one reader."""

    banner: str
    banner_link: str
    heading: str
    body: str
    offers_heading: str
    subscribe_cta: str


def wording(copy: CopySettings, decision: Decision, site: str) -> Wording:
    """The banner and gate sentences for this decision."""
    used = getattr(decision, "used", 0)
    limit = getattr(decision, "limit", 0)
    values = {"used": used, "limit": limit, "remaining": max(limit - used, 0), "site": site}
    if decision.outcome == "regwall":
        heading, body = copy.regwall_heading, copy.regwall_body
    elif getattr(decision, "premium", False):
        heading, body = copy.premium_heading, copy.premium_body
    elif limit == 0:
        heading, body = copy.gate_heading_hard, copy.gate_body
    else:
        heading, body = copy.gate_heading, copy.gate_body
    return Wording(
        banner=fill(copy.banner, **values),
        banner_link=fill(copy.banner_link, **values),
        heading=fill(heading, **values),
        body=fill(body, **values),
        offers_heading=fill(copy.offers_heading, **values),
        subscribe_cta=fill(copy.subscribe_cta, **values),
    )


@dataclass(frozen=True, slots=True)
class ArticleView:
    """An article page as this reader may see it.

    ``lede`` is shown to everyone; ``rest`` is empty unless the reader gets
    the full text.
    """

    id: str
    slug: str
    url: str
    headline: str
    dek: str
    byline: str
    section: str
    tags: tuple[str, ...]
    published_at: datetime | None
    image: Image | None
    lede: tuple[Block, ...]
    rest: tuple[Block, ...]
    full_text: bool
    decision: Decision
    jsonld: str


def _split_after_first_paragraph(body: Sequence[Block]) -> tuple[tuple[Block, ...], ...]:
    for index, block in enumerate(body):
        if block.kind == "paragraph":
            return tuple(body[: index + 1]), tuple(body[index + 1 :])
    return (), tuple(body)


def article_view(
    article: Article, decision: Decision, policy: Policy, url: str, site: str
) -> ArticleView:
    """Build the view of ``article`` that ``decision`` allows."""
    full = shows_full_text(decision)
    if full:
        first, rest = _split_after_first_paragraph(article.body)
        shown: tuple[Block, ...] = first + rest
    else:
        first, rest = lede(article, policy.lede_words), ()
        shown = first
    return ArticleView(
        id=article.id,
        slug=article.slug,
        url=url,
        headline=article.headline,
        dek=article.dek,
        byline=article.byline,
        section=article.section,
        tags=article.tags,
        published_at=article.published_at,
        image=article.image,
        lede=first,
        rest=rest,
        full_text=full,
        decision=decision,
        jsonld=script_json(news_article(article, shown, full, url, site)),
    )
