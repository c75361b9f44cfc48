"""The dashboard in real headless Chromium: sign in, watch the funnel fill, change the policy,
start an experiment, run the simulator; a screenshot of each page goes to test-artifacts/."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from meterwall.admin.staff import StaffDirectory
from meterwall.storage.engine import create_engine
from tests.admin_support import STAFF_EMAIL, STAFF_PASSWORD
from tests.conftest import standard_articles

pytestmark = pytest.mark.browser


def add_staff(database_url: str) -> None:
    async def create() -> None:
        engine = create_engine(database_url)
        await StaffDirectory(engine).create(STAFF_EMAIL, STAFF_PASSWORD, datetime.now(UTC))
        await engine.dispose()

    # Playwright's sync API keeps an event loop running in this thread.
    worker = threading.Thread(target=asyncio.run, args=(create(),))
    worker.start()
    worker.join()


def test_the_dashboard_in_a_browser(
    chromium: Any, live_site: Callable[..., Any], artifacts: Path, tmp_path: Path
) -> None:
    server = live_site(
        standard_articles(),
        admin={"policy_refresh_seconds": 0},
        analytics={"flush_interval_ms": 50},
    )
    add_staff(f"sqlite+aiosqlite:///{(tmp_path / 'meterwall.db').resolve()}")
    problems: list[str] = []

    def watch(page: Any) -> Any:
        page.on(
            "console",
            lambda message: (
                problems.append(message.text)
                if message.type == "error" and "Failed to load resource" not in message.text
                else None
            ),
        )
        page.on(
            "response",
            lambda response: (
                problems.append(f"{response.status} {response.url}")
                if response.status >= 400 and not response.url.endswith("/favicon.ico")
                else None
            ),
        )
        page.on(
            "request",
            lambda request: (
                problems.append(request.url) if not request.url.startswith(server.url) else None
            ),
        )
        return page

    reader_context = chromium.new_context()
    reader = watch(reader_context.new_page())
    for n in range(1, 7):
        reader.goto(f"{server.url}/articles/story-{n}")
    assert reader.locator(".gate").is_visible()

    staff_context = chromium.new_context(viewport={"width": 1280, "height": 900})
    staff = watch(staff_context.new_page())
    staff.goto(f"{server.url}/admin/funnel")
    assert staff.url.startswith(f"{server.url}/admin/login")
    staff.screenshot(path=str(artifacts / "admin-login.png"), full_page=True)
    staff.get_by_label("Email").fill(STAFF_EMAIL)
    staff.get_by_label("Password").fill(STAFF_PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    staff.wait_for_url(f"{server.url}/admin/funnel")

    def stage(name: str) -> str:
        item = staff.locator("ol.funnel li", has_text=name)
        return str(item.locator(".count").inner_text())

    assert stage("Visitors") == "1"
    assert stage("Hit the wall") == "1"
    assert staff.locator("svg.chart").count() == 3
    # Charts are images named by their title and description (aria-labelledby).
    assert staff.get_by_role(
        "img", name=re.compile("^The funnel over the whole range")
    ).is_visible()
    staff.screenshot(path=str(artifacts / "admin-funnel.png"), full_page=True)

    # A second reader reads while the staff member watches: the funnel fills.
    second = watch(chromium.new_context().new_page())
    second.goto(f"{server.url}/articles/story-1")
    second.wait_for_timeout(300)
    staff.reload()
    assert stage("Visitors") == "2"

    staff.get_by_role("link", name="Articles").click()
    rows = staff.locator("table.articles-table tbody tr")
    staff.get_by_role("link", name="Views").click()
    assert "Headline of story 1" in rows.first.inner_text()  # two readers opened it
    staff.get_by_role("link", name="Wall impressions").click()
    assert rows.count() >= 6
    assert "Headline of story 6" in rows.first.inner_text()
    staff.screenshot(path=str(artifacts / "admin-articles.png"), full_page=True)

    staff.get_by_role("link", name="Revenue").click()
    assert staff.get_by_text("Monthly recurring revenue").is_visible()
    staff.screenshot(path=str(artifacts / "admin-revenue.png"), full_page=True)

    staff.get_by_role("link", name="Policy and offers").click()
    staff.get_by_label("Free articles per period, anonymous readers").fill("3")
    staff.get_by_label("What is this change for?").fill("Try a tighter meter")
    staff.get_by_role("button", name="Save as a new version").click()
    assert staff.get_by_text("Saved as version 1.").is_visible()
    assert staff.get_by_text("policy.anonymous_limit: 5 → 3").is_visible()
    staff.screenshot(path=str(artifacts / "admin-policy.png"), full_page=True)
    newcomer = watch(chromium.new_context().new_page())
    for n in range(1, 5):
        newcomer.goto(f"{server.url}/articles/story-{n}")
    assert "read 3 of 3 free articles." in newcomer.locator(".gate").inner_text()

    staff.get_by_role("link", name="Experiments").click()
    staff.get_by_label("Name").fill("Lede of forty words")
    staff.get_by_label("What to vary").select_option("lede_words")
    staff.get_by_label("Variant B value").fill("40")
    staff.screenshot(path=str(artifacts / "admin-experiments.png"), full_page=True)
    staff.get_by_role("button", name="Start the experiment").click()
    staff.wait_for_url(re.compile(r".*/admin/experiments/lede-of-forty-words-\w+$"))
    assert staff.get_by_role("heading", name="No winner yet").is_visible()
    staff.screenshot(path=str(artifacts / "admin-experiment.png"), full_page=True)

    staff.get_by_role("link", name="Meter simulator").click()
    staff.get_by_role("button", name="Run the simulation").click()
    table = staff.locator("table.simulation")
    table.wait_for()
    assert "Would hit the wall" in table.inner_text()
    assert staff.get_by_role("img", name=re.compile("^Readers who would hit the wall")).is_visible()
    staff.screenshot(path=str(artifacts / "admin-simulator.png"), full_page=True)

    reader.goto(f"{server.url}/account/meter")
    assert reader.get_by_text("What we store about you").is_visible()
    reader.screenshot(path=str(artifacts / "reader-data.png"), full_page=True)

    staff.get_by_role("button", name="Sign out").click()
    staff.wait_for_url(f"{server.url}/admin/login")
    staff.goto(f"{server.url}/admin/revenue")
    assert staff.url.startswith(f"{server.url}/admin/login")
    assert problems == [], problems
    for context in (reader_context, staff_context):
        context.close()
