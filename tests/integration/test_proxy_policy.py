"""Proxy mode gates in the copy and plans of the policy in force, as the built-in site does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from meterwall.access.live import PolicyDocument
from tests.fixtures.upstream.harness import proxied, reader
from tests.fixtures.upstream.site import PATHS

NEW_GATE = "Back the newsroom that covers your town."
NEW_PLAN = "Harbor pass, all stories"


@pytest.mark.parametrize("cache", [False, True], ids=["uncached", "cached"])
async def test_copy_and_plans_saved_in_the_dashboard_reach_the_proxied_gate(
    app_factory: Callable[..., Any], cache: bool
) -> None:
    app = await proxied(
        app_factory,
        policy={"anonymous_limit": 0},
        admin={"policy_refresh_seconds": 0},
        cache={"enabled": cache},
    )
    services = app.state.services
    async with reader(app) as browser:
        before = await browser.get(PATHS[1])
        assert 'class="mw-gate"' in before.text
        assert "Subscribe to continue." in before.text
        assert NEW_GATE not in before.text

        previous: PolicyDocument = services.policies.fallback
        changed = previous.model_copy(
            update={
                "copy_text": previous.copy_text.model_copy(update={"gate_body": NEW_GATE}),
                "offers": [previous.offers[0].model_copy(update={"name": NEW_PLAN})],
            }
        )
        await services.dashboard.versions.save(
            changed, previous=previous, by="editor@example.com", note="", now=datetime.now(UTC)
        )

        after = await browser.get(PATHS[1])
        assert 'class="mw-gate"' in after.text
        assert NEW_GATE in after.text
        assert NEW_PLAN in after.text
        assert "Subscribe to continue." not in after.text
