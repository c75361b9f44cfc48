"""Helpers for dashboard tests: an app whose lifespan runs, staff users, signed-in clients."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette

from meterwall.access.live import PolicyDocument
from meterwall.admin.forms import document_form

STAFF_EMAIL = "editor@example.com"
STAFF_PASSWORD = "a long staff password"


def csrf_of(html: str) -> str:
    """The first CSRF token in a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "the page has no CSRF token"
    return found[1]


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client for ``app`` with its lifespan running (the event writer starts and stops)."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client,
    ):
        yield client


async def add_staff(app: Starlette, email: str = STAFF_EMAIL) -> None:
    """Create a staff user."""
    services = app.state.services
    await services.dashboard.staff.create(email, STAFF_PASSWORD, services.clock())


async def sign_in(client: httpx.AsyncClient, email: str = STAFF_EMAIL) -> str:
    """Sign ``client`` in to the dashboard; returns the session's CSRF token."""
    page = await client.get("/admin/login")
    response = await client.post(
        "/admin/login",
        data={"csrf": csrf_of(page.text), "email": email, "password": STAFF_PASSWORD},
    )
    assert response.status_code == 303, response.text
    return csrf_of((await client.get("/admin/policy")).text)


def policy_form(document: PolicyDocument, **overrides: str) -> dict[str, str]:
    """The fields a browser sends for the policy form showing ``document``, some changed."""
    values = document_form(document)
    fields: dict[str, str] = {}
    for key, value in values["policy"].items():
        if isinstance(value, bool):
            if value:
                fields[f"policy.{key}"] = "on"
        else:
            fields[f"policy.{key}"] = str(value)
    fields.update({f"copy.{k}": str(v) for k, v in values["copy_text"].items()})
    for i, offer in enumerate(values["offers"]):
        fields.update({f"offer-{i}-{k}": str(v) for k, v in offer.items()})
    fields.update(overrides)
    return fields
