"""Turning front-matter values and body blocks into a checked :class:`Article`.

Both file formats end here, so the rules (which keys exist, what an access
level, a date, a slug or an image URL may be) are the same for both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from slugify import slugify as _slugify

from meterwall.access.model import AccessLevel
from meterwall.content.importers.errors import ImportProblem
from meterwall.content.importers.frontmatter import Document
from meterwall.content.model import Article, Block, Image

KEYS = (
    "id",
    "slug",
    "headline",
    "title",
    "dek",
    "byline",
    "section",
    "tags",
    "published",
    "date",
    "access",
    "image",
    "canonical_url",
)
"""Every front-matter key an article file may use."""

IMAGE_KEYS = ("url", "credit", "caption", "alt")

MAX_HEADLINE = 300
MAX_SLUG = 200
MAX_SECTION = 100
_DERIVED_SLUG = 80

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc]")
_SPACES = re.compile(r"\s+")


def slugify(text: str) -> str:
    """A URL slug for ``text``: lowercase ASCII letters and digits joined by hyphens.

    Every script is transliterated (python-slugify): Greek, Cyrillic and CJK
    headlines get readable slugs, and "Łódź" is "lodz", not "odz".
    """
    slug: str = _slugify(_APOSTROPHES.sub("", text), max_length=_DERIVED_SLUG, word_boundary=True)
    return slug


def clean(text: str) -> str:
    """``text`` with runs of whitespace (no-break spaces included) made one space."""
    return _SPACES.sub(" ", text).strip()


def check_image_url(url: str, line: int) -> str:
    """``url`` if it is an absolute http(s) URL or a path on this site."""
    url = url.strip()
    if url.startswith(("https://", "http://")) and len(url) > len("https://"):
        return url
    if url.startswith("/") and not url.startswith("//"):
        return url
    raise ImportProblem(
        f"image URL {url[:80]!r} must start with https://, http:// or / (a path on this site)",
        line,
    )


def build_article(doc: Document, blocks: Iterable[Block], timezone: str) -> Article:
    """The article the front matter in ``doc`` and the body ``blocks`` describe.

    Raises :class:`ImportProblem` naming the line of the first bad value.
    """
    values = doc.values
    for key in values:
        if key not in KEYS:
            raise ImportProblem(
                f"unknown front-matter key {_shown(key)} (known keys: {', '.join(KEYS)})",
                doc.line_of(key),
            )
    headline_key = _one_of(doc, "headline", "title")
    date_key = _one_of(doc, "published", "date")

    headline = _text(doc, headline_key) if headline_key else ""
    if not headline:
        raise ImportProblem("missing headline (add 'headline: ...' to the front matter)", 1)
    if len(headline) > MAX_HEADLINE:
        raise ImportProblem(
            f"headline is {len(headline)} characters long (at most {MAX_HEADLINE})",
            doc.line_of(headline_key or "headline"),
        )

    body = tuple(blocks)
    if not any(b.kind == "paragraph" for b in body):
        raise ImportProblem("empty body: the article needs at least one paragraph", doc.body_line)

    slug = _slug(doc, headline)
    section = _text(doc, "section")
    if len(section) > MAX_SECTION:
        raise ImportProblem(
            f"section is longer than {MAX_SECTION} characters", doc.line_of("section")
        )
    return Article(
        id=_id(doc, slug),
        slug=slug,
        headline=headline,
        dek=_text(doc, "dek"),
        byline=_text(doc, "byline"),
        section=section,
        tags=_tags(doc),
        published_at=_published(doc, date_key, timezone) if date_key else None,
        image=_image(doc),
        body=body,
        access=_access(doc),
        canonical_url=_canonical(doc),
    )


def _one_of(doc: Document, first: str, second: str) -> str:
    """Which of two alias keys is present (``""`` if neither); both is a mistake."""
    if first in doc.values and second in doc.values:
        raise ImportProblem(f"give {first!r} or {second!r}, not both", doc.line_of(second))
    if first in doc.values:
        return first
    return second if second in doc.values else ""


def _text(doc: Document, key: str) -> str:
    value = doc.values.get(key)
    if value is None:
        return ""
    return _as_text(value, key, doc.line_of(key))


def _as_text(value: Any, key: str, line: int) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ImportProblem(f"{key} must be text", line)
    return clean(str(value))


def _slug(doc: Document, headline: str) -> str:
    given = _text(doc, "slug")
    if given:
        if len(given) > MAX_SLUG or not _SLUG.fullmatch(given):
            raise ImportProblem(
                f"slug {given[:80]!r} must be lowercase letters, digits and single hyphens, "
                "e.g. 'harbor-dredging-vote'",
                doc.line_of("slug"),
            )
        return given
    derived = slugify(headline)
    if not derived:
        raise ImportProblem(
            "cannot make a slug from this headline; add 'slug: ...' to the front matter",
            doc.line_of("headline") if "headline" in doc.values else 1,
        )
    return derived


def _id(doc: Document, slug: str) -> str:
    given = _text(doc, "id")
    if not given:
        return slug
    if len(given) > MAX_SLUG or not _ID.fullmatch(given):
        raise ImportProblem(
            f"id {given[:80]!r} may hold only letters, digits, '.', '_', ':' and '-'",
            doc.line_of("id"),
        )
    return given


def _tags(doc: Document) -> tuple[str, ...]:
    value = doc.values.get("tags")
    line = doc.line_of("tags")
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, list):
        items = value
    else:
        raise ImportProblem("tags must be a list, e.g. [harbor, fishing]", line)
    tags: list[str] = []
    for item in items:
        tag = _as_text(item, "each tag", line)
        if tag and tag.casefold() not in (t.casefold() for t in tags):
            tags.append(tag)
    return tuple(tags)


def _access(doc: Document) -> AccessLevel:
    raw = _text(doc, "access")
    if not raw:
        return AccessLevel.METERED
    try:
        return AccessLevel(raw.lower())
    except ValueError:
        choices = ", ".join(level.value for level in AccessLevel)
        raise ImportProblem(
            f"unknown access value {raw[:40]!r} (use one of: {choices})", doc.line_of("access")
        ) from None


def _published(doc: Document, key: str, timezone: str) -> datetime | None:
    value = doc.values.get(key)
    line = doc.line_of(key)
    parsed: datetime | None = None
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        raise ImportProblem(
            f"bad date {_shown(value)} for {key} "
            "(use YYYY-MM-DD or YYYY-MM-DDTHH:MM, with an optional +HH:MM offset)",
            line,
        )
    if parsed.tzinfo is None:
        zone: tzinfo = ZoneInfo(timezone)
        parsed = parsed.replace(tzinfo=zone)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ImportProblem(f"date {_shown(value)} is out of range", line) from None


def _image(doc: Document) -> Image | None:
    value = doc.values.get("image")
    line = doc.line_of("image")
    if value is None:
        return None
    if isinstance(value, str):
        return Image(url=check_image_url(value, line))
    if not isinstance(value, Mapping):
        raise ImportProblem("image must be a URL or {url, credit, caption, alt}", line)
    for key in value:
        if key not in IMAGE_KEYS:
            raise ImportProblem(
                f"unknown image key {_shown(key)} (known keys: {', '.join(IMAGE_KEYS)})", line
            )
    parts = {k: _as_text(v, f"image {k}", line) for k, v in value.items() if v is not None}
    if not any(parts.values()):
        return None
    url = parts.get("url", "")
    return Image(
        url=check_image_url(url, line) if url else "",
        credit=parts.get("credit", ""),
        caption=parts.get("caption", ""),
        alt=parts.get("alt", ""),
    )


def _canonical(doc: Document) -> str:
    url = _text(doc, "canonical_url")
    if url and not url.startswith(("https://", "http://")):
        raise ImportProblem(
            "canonical_url must be an absolute http:// or https:// URL",
            doc.line_of("canonical_url"),
        )
    return url


def _shown(value: Any) -> str:
    """A short quotation of a front-matter value for a message, whatever its type."""
    if isinstance(value, str | int | float | date):
        text = str(value)
        return repr(text if len(text) <= 40 else text[:40] + "...")
    return f"of type {type(value).__name__}"
