"""The decision API: decisions, meter and copy for a reader, and the body only when allowed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import standard_articles
from tests.fixtures.upstream.harness import assert_full_text, assert_no_leak, proxied, reader
from tests.fixtures.upstream.site import ARTICLES, PUBLIC, canonical
from tests.leaks import assert_no_leak as assert_no_store_leak

ACCESS = "/api/v1/access"
ARTICLE = "/api/v1/article"


def ask(article_id: str = "https://news.example/2026/11/x/", **extra: Any) -> dict[str, Any]:
    return {"article": {"id": article_id, **extra}}


@pytest.fixture
async def api(app: Any) -> Any:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


async def test_a_new_reader_is_metered_and_gets_a_cookie(api: httpx.AsyncClient) -> None:
    response = await api.post(ACCESS, json=ask())
    assert response.status_code == 200
    data = response.json()
    assert data["decision"] == {
        "outcome": "metered",
        "full_text": True,
        "reason": None,
        "premium": False,
    }
    assert data["meter"]["used"] == 1 and data["meter"]["limit"] == 5
    assert data["meter"]["remaining"] == 4
    assert data["meter"]["resets_at"].startswith("2026-12-01")
    assert data["copy"]["banner"] == "1 of 5 stories this month"
    assert data["offers"][0]["line"] == "Unlimited digital access $11/month."
    assert "reader_token" not in data
    assert "mw_reader" in response.headers["set-cookie"]
    assert response.headers["cache-control"] == "private, no-store"
    assert "Cookie" in response.headers["vary"]


async def test_the_same_article_counts_once_and_variants_share_it(api: httpx.AsyncClient) -> None:
    await api.post(ACCESS, json=ask("https://news.example/a/"))
    again = await api.post(ACCESS, json=ask("HTTPS://NEWS.EXAMPLE/a?utm_source=x"))
    assert again.json()["meter"]["used"] == 1


async def test_the_limit_leads_to_the_paywall(api: httpx.AsyncClient) -> None:
    for i in range(5):
        await api.post(ACCESS, json=ask(f"https://news.example/{i}"))
    data = (await api.post(ACCESS, json=ask("https://news.example/6"))).json()
    assert data["decision"]["outcome"] == "paywall"
    assert data["decision"]["full_text"] is False
    assert data["copy"]["heading"] == "You've read 5 of 5 free articles."


async def test_free_premium_and_exempt_articles(api: httpx.AsyncClient) -> None:
    free = (await api.post(ACCESS, json=ask("f", access="free"))).json()
    premium = (await api.post(ACCESS, json=ask("p", access="premium"))).json()
    exempt = (await api.post(ACCESS, json=ask("o", section="Obituaries"))).json()
    assert free["decision"]["reason"] == "free"
    assert premium["decision"]["outcome"] == "paywall" and premium["decision"]["premium"]
    assert exempt["decision"]["reason"] == "exempt"


async def test_stored_articles_use_their_own_access_not_the_callers(api: httpx.AsyncClient) -> None:
    data = (await api.post(ACCESS, json=ask("story-10", access="free"))).json()
    assert data["decision"]["outcome"] == "paywall" and data["decision"]["premium"]


async def test_reader_tokens_for_servers_and_edges(api: httpx.AsyncClient) -> None:
    first = (await api.post(ACCESS, json={**ask("a"), "reader_token": None})).json()
    token = first["reader_token"]
    second = (await api.post(ACCESS, json={**ask("b"), "reader_token": token})).json()
    assert second["meter"]["used"] == 2
    assert second["reader_token"] == token


async def test_a_forged_token_is_a_new_reader_not_an_error(api: httpx.AsyncClient) -> None:
    response = await api.post(ACCESS, json={**ask("a"), "reader_token": "forged.token"})
    assert response.status_code == 200
    assert response.json()["meter"]["used"] == 1
    assert response.json()["reader_token"] != "forged.token"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"not json", "JSON object"),
        (b"[]", "JSON object"),
        (b"{}", "article"),
        (b'{"article": {"id": ""}}', "article.id"),
        (b'{"article": {"id": "x", "access": "gratis"}}', "article.access"),
        (b'{"article": {"id": "x"}, "extra": 1}', "extra"),
        (b'{"article": {"id": "' + b"x" * 3000 + b'"}}', "article.id"),
    ],
)
async def test_bad_requests_get_clear_errors(
    api: httpx.AsyncClient, body: bytes, detail: str
) -> None:
    response = await api.post(ACCESS, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert detail in response.json()["detail"]


async def test_oversized_requests_are_refused(api: httpx.AsyncClient) -> None:
    response = await api.post(ACCESS, content=b"{" + b" " * 20_000 + b"}")
    assert response.status_code == 413


async def test_the_body_helper_returns_the_body_only_when_allowed(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory(policy={"anonymous_limit": 1})
    stories = {a.id: a for a in standard_articles()}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        allowed = await client.post(ARTICLE, json=ask("story-1"))
        refused = await client.post(ARTICLE, json=ask("http://testserver/articles/story-2"))
        unknown = await client.post(ARTICLE, json=ask("nope"))
    assert "SECRET-1-3" in allowed.json()["body_html"]
    assert refused.json()["body_html"] is None
    assert "LEDE-2" in refused.json()["teaser_html"]
    assert_no_store_leak(refused, stories["story-2"])
    assert unknown.status_code == 404


async def test_the_access_answer_never_carries_article_text(
    app_factory: Callable[..., Any],
) -> None:
    app = await app_factory()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = await client.post(ACCESS, json=ask("story-3"))
    assert response.json()["decision"]["full_text"] is True
    assert "SECRET" not in response.text and "LEDE" not in response.text


async def test_the_body_helper_in_proxy_mode_reads_the_upstream(
    app_factory: Callable[..., Any],
) -> None:
    app = await proxied(app_factory, policy={"anonymous_limit": 1})
    async with reader(app) as client:
        allowed = await client.post(ARTICLE, json=ask(canonical(2)))
        refused = await client.post(ARTICLE, json=ask(canonical(3)))
        foreign = await client.post(ARTICLE, json=ask("http://169.254.169.254/latest/"))
    assert_full_text(httpx.Response(200, text=allowed.json()["body_html"]), ARTICLES[2])
    assert refused.json()["body_html"] is None
    assert "LEDE-3" in refused.json()["teaser_html"]
    assert_no_leak(refused, ARTICLES[3])
    assert foreign.status_code == 404


async def test_cors_only_for_configured_origins(app_factory: Callable[..., Any]) -> None:
    app = await app_factory(api={"allowed_origins": ["https://www.news.example"]})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        allowed = await client.post(
            ACCESS, json=ask(), headers={"Origin": "https://www.news.example"}
        )
        other = await client.post(ACCESS, json=ask(), headers={"Origin": "https://evil.example"})
        preflight = await client.options(
            ACCESS,
            headers={"Origin": "https://www.news.example", "Access-Control-Request-Method": "POST"},
        )
    assert allowed.headers["access-control-allow-origin"] == "https://www.news.example"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["access-control-allow-methods"]


async def test_openapi_document_describes_what_the_api_answers(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/api/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    assert set(spec["paths"]) == {ACCESS, ARTICLE}
    answer = (await api.post(ACCESS, json=ask())).json()
    schemas = spec["components"]["schemas"]
    assert set(schemas["DecisionResponse"]["required"]) <= set(answer)
    for name, model in (("decision", "DecisionOut"), ("meter", "MeterOut"), ("copy", "CopyOut")):
        assert set(schemas[model]["required"]) <= set(answer[name])
    assert answer["decision"]["outcome"] in schemas["DecisionOut"]["properties"]["outcome"]["enum"]


async def test_snippet_and_styles_are_served(api: httpx.AsyncClient) -> None:
    script = await api.get("/_meterwall/meterwall.js")
    css = await api.get("/_meterwall/meterwall.css")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in script.text, "the snippet builds its markup as text only"
    assert css.headers["content-type"].startswith("text/css")
    assert ".mw-gate" in css.text
    assert PUBLIC not in script.text
