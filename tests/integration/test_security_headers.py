"""Security headers on meterwall's own pages, against OWASP's secure-headers list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "cross-origin-opener-policy": "same-origin-allow-popups",
    "x-permitted-cross-domain-policies": "none",
}


@pytest.mark.parametrize("path", ["/", "/account/meter", "/no-such-page", "/api/openapi.json"])
async def test_every_page_carries_the_headers(app_factory: Callable[..., Any], path: str) -> None:
    app = await app_factory(public_url="https://news.example")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://news.example"
    ) as client:
        response = await client.get(path)
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, name
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "camera=()" in response.headers["permissions-policy"]
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_no_hsts_for_a_site_served_over_http(app_factory: Callable[..., Any]) -> None:
    app = await app_factory(public_url="http://testserver")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = await client.get("/")
    assert "strict-transport-security" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
