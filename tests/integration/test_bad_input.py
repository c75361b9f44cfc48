"""Bad input gets a clear 4xx, never a 500 (issue 16's "Bad input" findings)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

FORM_ROUTES = [
    "/account/meter/delete",
    "/account/delete",
    "/account/login",
    "/account/confirm",
    "/account/logout",
    "/account/sessions/end",
    "/account/cancel",
    "/account/resume",
    "/checkout/digital-monthly",
    "/gifts",
]


@pytest.fixture
async def web(app: Any) -> Any:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        # The meter page gives the browser its reader cookie, so forms reach their CSRF check.
        await client.get("/account/meter")
        assert client.cookies
        yield client


@pytest.mark.parametrize("path", FORM_ROUTES)
async def test_a_non_ascii_csrf_value_is_refused_not_a_500(
    web: httpx.AsyncClient, path: str
) -> None:
    response = await web.post(path, data={"csrf": "é" * 40, "email": "a@example.com"})
    # Checkout answers 503 while payments are not configured, as it does for any form.
    assert 400 <= response.status_code < 500 or response.status_code == 503, response.text[:300]
    assert "Something went wrong" not in response.text


async def test_json_nested_a_thousand_deep_is_a_400(web: httpx.AsyncClient) -> None:
    body = "[" * 1000 + "]" * 1000
    for nested in (body, '{"article": ' + body + "}"):
        response = await web.post(
            "/api/v1/access", content=nested, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, response.text[:300]
        assert response.json()["error"] == "invalid request" or "JSON" in response.json()["error"]


async def test_a_client_that_disconnects_mid_body_is_not_a_500(app: Any) -> None:
    sent: list[dict[str, Any]] = []
    messages = [
        {"type": "http.request", "body": b'{"article": {"id": "https://x', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = _scope("POST", "/api/v1/access", b"application/json")
    await asyncio.wait_for(app(scope, receive, send), 10)
    statuses = [m["status"] for m in sent if m["type"] == "http.response.start"]
    assert all(s < 500 for s in statuses), statuses


@pytest.mark.parametrize("path", ["/account/login", "/webhooks/stripe", "/api/v1/access"])
async def test_a_body_over_the_cap_is_a_413(app_factory: Any, path: str) -> None:
    app = await app_factory(ops={"max_body_bytes": 64 * 1024})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        form = {"content-type": "application/x-www-form-urlencoded"}
        declared = await client.post(path, content=b"x" * (65 * 1024), headers=form)

        async def chunks() -> Any:
            for _ in range(80):
                yield b"y" * 1024

        streamed = await client.post(path, content=chunks(), headers=form)
    for response in (declared, streamed):
        assert response.status_code == 413, response.text[:300]


async def test_a_body_that_stalls_is_a_408(app_factory: Any) -> None:
    app = await app_factory(ops={"body_timeout_seconds": 0.2})
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": b"email=a", "more_body": True}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(30)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = _scope("POST", "/account/login", b"application/x-www-form-urlencoded")
    await asyncio.wait_for(app(scope, receive, send), 10)
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [408]


def _scope(method: str, path: str, content_type: bytes) -> dict[str, Any]:
    """A hand-built ASGI scope, for requests an HTTP client will not send (a body that stops)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", content_type)],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
