"""The reader's data page in a real browser: what is stored, and the two deletions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import standard_articles

pytestmark = pytest.mark.browser

EMAIL = "privacy-reader@example.com"


def test_meter_page_explains_and_deletes_reading_data_then_the_account(
    chromium: Any, live_site: Callable[..., Any], artifacts: Path
) -> None:
    server = live_site(standard_articles(), mail={"backend": "dev"})
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    for n in (1, 2, 3):
        page.goto(f"{server.url}/articles/story-{n}")
    page.goto(f"{server.url}/account/login?next=/account/meter")
    page.fill("#email", EMAIL)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.wait_for_url("**/account/login/sent")
    page.get_by_role("link", name="demo mailbox").click()
    page.locator("pre a").first.click()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/account/meter")
    page.goto(f"{server.url}/articles/story-4")

    page.goto(f"{server.url}/account/meter")
    assert "4 of 5" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Headline of story 1").is_visible()
    assert page.get_by_role("button", name="Delete my reading data").is_visible()
    assert page.get_by_role("link", name="Delete my account…").is_visible()
    page.screenshot(path=str(artifacts / "privacy-meter-page.png"), full_page=True)

    page.get_by_role("button", name="Delete my reading data").click()
    page.wait_for_url(f"{server.url}/account/meter?deleted=1")
    text = page.locator("main").inner_text()
    assert "You are still signed in" in text and "4 of 5" in text
    assert "4 of them are kept only as a number" in text
    assert page.get_by_role("link", name="Headline of story 1").count() == 0
    page.screenshot(path=str(artifacts / "privacy-meter-page-after-delete.png"), full_page=True)

    page.get_by_role("link", name="Delete my account…").click()
    page.wait_for_url(f"{server.url}/account/delete")
    page.screenshot(path=str(artifacts / "privacy-account-delete.png"), full_page=True)
    page.fill("#confirm", EMAIL)
    page.get_by_role("button", name="Delete my account").click()
    page.wait_for_url(f"{server.url}/account/deleted")
    assert "Your account has been deleted" in page.locator("main").inner_text()
    page.goto(f"{server.url}/account")
    page.wait_for_url("**/account/login?next=/account")
    context.close()
