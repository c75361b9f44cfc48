"""Articles and settings for tests, built in code so each test says what it relies on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from meterwall.access.model import AccessLevel
from meterwall.content.model import Article, Block, Image
from meterwall.settings import Settings

LEDE = (
    "LEDE-{n} The harbor master opened the gates at dawn, and the first boats slid out past "
    "the breakwater while the town still slept and the gulls circled overhead."
)


def body_text(n: int, i: int) -> str:
    """A distinctive sentence of article ``n``'s body, so a leak is easy to find."""
    return f"SECRET-{n}-{i} This sentence belongs only to the gated body of story {n}."


def make_article(
    n: int,
    access: AccessLevel = AccessLevel.METERED,
    section: str = "Nation",
    tags: tuple[str, ...] = ("harbor",),
    paragraphs: int = 6,
) -> Article:
    """Article ``n``: a lede, then subheads, quotes, an image and paragraphs of body text."""
    body: list[Block] = [Block("paragraph", LEDE.format(n=n))]
    for i in range(1, paragraphs + 1):
        if i == 3:
            body.append(Block("subhead", f"SUBHEAD-{n} What the tide brought"))
        if i == 4:
            body.append(Block("quote", f"QUOTE-{n} We never counted on luck.", "A fisher"))
        if i == 5:
            body.append(
                Block("image", image=Image("/static/img/harbor.svg", "Staff", f"CAPTION-{n}-inner"))
            )
        body.append(Block("paragraph", body_text(n, i)))
    return Article(
        id=f"story-{n}",
        slug=f"story-{n}",
        headline=f"Headline of story {n}",
        dek=f"The dek of story {n}.",
        byline="By Test Writer",
        section=section,
        tags=tags,
        published_at=datetime(2026, 11, 1 + n % 20, 12, tzinfo=UTC),
        image=Image("/static/img/harbor.svg", "Test Photo/Staff", f"Lead caption {n}"),
        body=tuple(body),
        access=access,
    )


def gated_fragments(article: Article) -> list[str]:
    """Text that must never reach a reader who is shown only the teaser."""
    teaser = article.body[0].text
    return [t for t in article.text_blocks() if t and t != teaser]


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for an app on a fresh SQLite file in ``tmp_path``."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "secret_key": "test-secret-key",
        "public_url": "http://testserver",
        # Generous: a loaded CI machine must not turn a slow meter into a gated page.
        # The fault tests set their own short timeouts.
        "store_timeout_ms": 10_000,
    }
    values.update(overrides)
    return Settings(**values)
