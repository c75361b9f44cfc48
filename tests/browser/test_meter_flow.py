"""A reader in a real browser: five banners counting up, then the gate with no hidden body."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import standard_articles
from tests.factories import LEDE, gated_fragments

pytestmark = pytest.mark.browser


def test_banner_counts_to_five_then_the_gate(
    chromium: Any, live_site: Callable[..., Any], artifacts: Path
) -> None:
    articles = standard_articles()
    server = live_site(articles)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    external: list[str] = []
    page.on(
        "request",
        lambda request: (
            external.append(request.url) if not request.url.startswith(server.url) else None
        ),
    )

    page.goto(server.url + "/")
    assert page.locator("a[href='/articles/story-1']").first.is_visible()

    for n in range(1, 6):
        page.goto(f"{server.url}/articles/story-{n}")
        assert page.locator(".meter-count").inner_text() == f"{n} of 5 stories this month"
        assert page.get_by_text(f"SECRET-{n}-6").is_visible()
    page.screenshot(path=str(artifacts / "meter-banner-5-of-5.png"), full_page=True)

    page.goto(f"{server.url}/articles/story-6")
    gate = page.locator(".gate")
    assert gate.is_visible()
    assert "You've read 5 of 5 free articles." in gate.inner_text()
    assert "Subscribe to continue." in gate.inner_text()
    assert "Unlimited digital access $11/month." in gate.inner_text()
    assert page.locator(".meter-banner").count() == 0

    dom = page.content()
    text = page.evaluate("document.documentElement.textContent")
    for fragment in gated_fragments(articles[5]):
        assert fragment not in dom
        assert fragment not in text
    assert LEDE.format(n=6) in text
    page.screenshot(path=str(artifacts / "gate.png"), full_page=True)

    page.get_by_role("link", name="Subscribe", exact=True).last.click()
    page.wait_for_url(f"{server.url}/subscribe")
    assert "Unlimited digital access" in page.content()

    page.goto(f"{server.url}/account/meter")
    assert page.locator("table.reads tbody tr").count() == 5
    page.screenshot(path=str(artifacts / "meter-page.png"), full_page=True)

    assert external == [], f"the site loaded resources from elsewhere: {external}"
    context.close()


def test_the_gate_renders_without_javascript(
    chromium: Any, live_site: Callable[..., Any], artifacts: Path
) -> None:
    server = live_site(standard_articles(), policy={"anonymous_limit": 0})
    context = chromium.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.goto(f"{server.url}/articles/story-1")
    assert page.locator(".gate").is_visible()
    assert "SECRET-1" not in page.content()
    page.screenshot(path=str(artifacts / "gate-mobile-no-js.png"), full_page=True)
    context.close()
