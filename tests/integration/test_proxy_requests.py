"""ATTACKS.md rows 24, 25 and 29 against proxy mode: requests the gate could read
differently from the upstream (issue 11, rows 1, 2 and 7).

The upstream is the fake site behind what nginx, PHP and WordPress do to a request
(:mod:`tests.fixtures.upstream.server`), configured as the README's "In front of
WordPress" section says, with a hard paywall.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, cast

import pytest
from starlette.applications import Starlette

from tests.fixtures.upstream.harness import (
    GOOGLEBOT_IP,
    GOOGLEBOT_UA,
    assert_full_text,
    assert_no_leak,
    proxied,
    raw_request,
    search_dns,
    use_resolver,
)
from tests.fixtures.upstream.server import like_a_real_server
from tests.fixtures.upstream.site import ARTICLES, PATHS, create_upstream

STORY = PATHS[1]  # /2026/11/harbor-gates/
WORDPRESS = {
    "preserve_host": True,
    "article_patterns": [r"^/\d{4}/\d{2}/[^/]+/$"],
    "free_patterns": ["^/live/"],
    "exclude_patterns": ["^/tag/"],
}


def _site() -> Starlette:
    return cast(Starlette, like_a_real_server(create_upstream()))


@pytest.fixture
async def wordpress(app_factory: Callable[..., Any]) -> Any:
    """Proxy mode in front of a WordPress-like upstream, with a hard paywall."""
    return await proxied(
        app_factory, upstream=_site(), policy={"anonymous_limit": 0}, proxy=WORDPRESS
    )


async def _assert_no_post_leaks(response: Any) -> None:
    for article in ARTICLES.values():
        assert_no_leak(response, article)


async def _answer(app: Any, method: str, target: str, *extra: Any) -> Any:
    """The answer to a raw request, following one redirect to the canonical form, checked
    for leaks at each step; never a server error."""
    response = await raw_request(app, method, target, *extra)
    await _assert_no_post_leaks(response)
    if response.status_code == 308:
        response = await raw_request(app, "GET", response.headers["location"])
        await _assert_no_post_leaks(response)
    assert response.status_code < 500, response.text[:300]
    return response


async def test_the_canonical_story_is_gated(wordpress: Any) -> None:
    response = await raw_request(wordpress, "GET", STORY)
    assert response.status_code == 200
    assert "mw-gate" in response.text
    assert_no_leak(response, ARTICLES[1])


STORY_SPELLINGS = [
    "/./2026/11/harbor-gates/",
    "/2026/./11/harbor-gates/",
    "/2026/11/harbor-gates/./",
    "/2026/11/x/../harbor-gates/",
    "/2026/11/harbor-gates/%2e/",
    "/2026/11/harbor-gates/%2E%2e/harbor-gates/",
    "/2026/%2e%2e/2026/11/harbor-gates/",
    "/%32%30%32%36/11/harbor-gates/",
    "//2026/11/harbor-gates/",
    "/2026//11/harbor-gates/",
    "/2026/11/harbor-gates;x=1/",
    "/2026/11;jsessionid=1/harbor-gates/",
    "/live/../2026/11/harbor-gates/",
    "/tag/../2026/11/harbor-gates/",
    "/index.php/2026/11/harbor-gates/",
    "/index.php/index.php/2026/11/harbor-gates/",
]


@pytest.mark.parametrize("target", STORY_SPELLINGS)
async def test_row24_other_spellings_of_a_story_redirect_to_the_gated_story(
    wordpress: Any, target: str
) -> None:
    response = await raw_request(wordpress, "GET", target)
    assert_no_leak(response, ARTICLES[1])
    assert response.status_code == 308
    assert response.headers["location"] == STORY
    followed = await raw_request(wordpress, "GET", response.headers["location"])
    assert "mw-gate" in followed.text, "the same decision as the story's own address"
    assert_no_leak(followed, ARTICLES[1])


@pytest.mark.parametrize("target", STORY_SPELLINGS)
async def test_row24_other_spellings_are_refused_for_other_methods(
    wordpress: Any, target: str
) -> None:
    response = await raw_request(wordpress, "POST", target, body=b"")
    assert response.status_code == 400
    assert_no_leak(response, ARTICLES[1])


@pytest.mark.parametrize("target", ["/2026/11/harbor-gates%2F", "/2026%2F11/harbor-gates/"])
async def test_row24_encoded_slashes_are_refused(wordpress: Any, target: str) -> None:
    response = await raw_request(wordpress, "GET", target)
    assert response.status_code == 400
    assert_no_leak(response, ARTICLES[1])


API_SPELLINGS = [
    "/./wp-json/wp/v2/posts",
    "/wp-json/oembed/../wp/v2/posts",
    "/wp-json/oembed/%2e%2e/wp/v2/posts",
    "//wp-json/wp/v2/posts",
    "/%2Fwp-json/wp/v2/posts",
    "/index.php/wp-json/wp/v2/posts",
    "/%77p-json/wp/v2/posts",
    "/?rest_route=/wp/v2/posts",
    "/?rest.route=/wp/v2/posts",
    "/?rest%5Froute=/wp/v2/posts",
    "/?%72est_route=/wp/v2/posts",
    "/?rest+route=/wp/v2/posts",
    "/?rest%20route=/wp/v2/posts",
    "/?rest[route=/wp/v2/posts",
    "/?+rest_route=/wp/v2/posts",
    "/?rest_route%00x=/wp/v2/posts",
    "/?rest%2Eroute=%2Fwp%2Fv2%2Fposts",
    "/index.php?rest.route=/wp/v2/posts",
]


@pytest.mark.parametrize("target", API_SPELLINGS)
async def test_row25_rest_api_spellings_never_give_a_post_beyond_its_lede(
    wordpress: Any, target: str
) -> None:
    response = await _answer(wordpress, "GET", target)
    assert response.status_code in (200, 400, 403, 404)


FORM = [("content-type", "application/x-www-form-urlencoded")]
FORM_BODIES = [
    b"rest_route=/wp/v2/posts",
    b"rest.route=%2Fwp%2Fv2%2Fposts",
    b"rest+route=/wp/v2/posts",
]


@pytest.mark.parametrize("body", FORM_BODIES)
@pytest.mark.parametrize(
    ("target", "headers"),
    [
        ("/?_method=GET", FORM),
        ("/", [*FORM, ("x-http-method-override", "GET")]),
        ("/", [*FORM, ("x-http-method", "GET")]),
        ("/", FORM),
    ],
    ids=["_method", "x-http-method-override", "x-http-method", "no override"],
)
async def test_row25_rest_route_in_a_form_body_never_gives_a_post_beyond_its_lede(
    wordpress: Any, target: str, headers: list[tuple[str, str]], body: bytes
) -> None:
    await _answer(wordpress, "POST", target, headers, body)


async def test_row25_rest_route_in_a_multipart_body_never_gives_a_post(wordpress: Any) -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="rest.route"\r\n\r\n/wp/v2/posts\r\n'
        b'--b\r\nContent-Disposition: form-data; name="_method"\r\n\r\nGET\r\n--b--\r\n'
    )
    headers = [("content-type", "multipart/form-data; boundary=b")]
    await _answer(wordpress, "POST", "/", headers, body)


@pytest.mark.parametrize(
    ("method", "headers", "target"),
    [
        ("GET", [("x-http-method-override", "POST")], STORY),
        ("GET", [], STORY + "?_method=POST"),
        ("POST", [("x-http-method-override", "GET"), ("x-method-override", "PUT")], STORY),
    ],
)
async def test_row25_a_method_override_with_no_one_meaning_is_refused(
    wordpress: Any, method: str, headers: list[tuple[str, str]], target: str
) -> None:
    response = await raw_request(wordpress, method, target, headers)
    assert response.status_code == 400
    assert_no_leak(response, ARTICLES[1])


async def test_row25_a_post_read_as_a_get_is_gated_like_the_page(wordpress: Any) -> None:
    headers = [("x-http-method-override", "GET")]
    response = await raw_request(wordpress, "POST", STORY, headers)
    assert "mw-gate" in response.text
    assert_no_leak(response, ARTICLES[1])


async def test_row25_ordinary_queries_pass_unchanged(wordpress: Any) -> None:
    response = await raw_request(wordpress, "GET", "/?s=harbor+gates&cat[]=1&paged=2")
    assert response.status_code == 200
    assert "HOME-MARK" in response.text


@pytest.mark.parametrize("target", ["/./subscribe", "/_meterwall/../wp-json/wp/v2/posts"])
async def test_own_paths_are_matched_on_the_canonical_path(wordpress: Any, target: str) -> None:
    response = await raw_request(wordpress, "GET", target)
    await _assert_no_post_leaks(response)
    assert response.status_code == 308
    assert response.headers["location"] in ("/subscribe", "/wp-json/wp/v2/posts")
    await _answer(wordpress, "GET", response.headers["location"])


# Row 29 (issue 11 row 7): the client address behind a trusted proxy that writes
# Forwarded or X-Real-IP and passes on whatever X-Forwarded-For the client sent.

PROXY = ("10.0.0.2", 4000)
CLIENT = "198.51.100.9"
LICENSED = "203.0.113.7"


@pytest.fixture(params=["forwarded", "x-real-ip"])
async def licensed(app_factory: Callable[..., Any], request: pytest.FixtureRequest) -> Any:
    """A hard paywall, a group licence for 203.0.113.0/24, behind a proxy at 10.0.0.2
    that writes the client's address in ``request.param``."""
    app = await proxied(
        app_factory,
        upstream=_site(),
        policy={"anonymous_limit": 0},
        proxy=WORDPRESS,
        trusted_proxies=["10.0.0.2"],
        client_ip_header=request.param,
        group_licences={"cidrs": ["203.0.113.0/24"]},
    )
    use_resolver(app, search_dns())
    app.state.writes = request.param
    return app


def _written(app: Any, address: str) -> tuple[str, str]:
    """The header the proxy in front of ``app`` writes for a client at ``address``."""
    if app.state.writes == "forwarded":
        return ("forwarded", f'for="{address}"')
    return ("x-real-ip", address)


async def test_row29_the_declared_header_gives_the_client_address(licensed: Any) -> None:
    headers = [_written(licensed, LICENSED)]
    response = await raw_request(licensed, "GET", STORY, headers, client=PROXY)
    assert_full_text(response, ARTICLES[1])


@pytest.mark.parametrize(
    "sent",
    [
        [("x-forwarded-for", LICENSED)],
        [("x-forwarded-for", f"10.9.9.9, {LICENSED}")],
        [("forwarded", f"for={LICENSED}"), ("x-real-ip", LICENSED)],
    ],
    ids=["x-forwarded-for", "x-forwarded-for-chain", "the-other-headers"],
)
async def test_row29_the_client_cannot_choose_its_address(
    licensed: Any, sent: list[tuple[str, str]]
) -> None:
    # The proxy passes the client's own headers on and adds its one header last.
    headers = [h for h in sent if h[0] != licensed.state.writes] + [_written(licensed, CLIENT)]
    response = await raw_request(licensed, "GET", STORY, headers, client=PROXY)
    assert "mw-gate" in response.text, "the group licence must not unlock"
    assert_no_leak(response, ARTICLES[1])


async def test_row29_a_client_written_forwarded_entry_is_not_the_address(
    app_factory: Callable[..., Any],
) -> None:
    app = await proxied(
        app_factory,
        upstream=_site(),
        policy={"anonymous_limit": 0},
        proxy=WORDPRESS,
        trusted_proxies=["10.0.0.2"],
        client_ip_header="forwarded",
        group_licences={"cidrs": ["203.0.113.0/24"]},
    )
    headers = [("forwarded", f"for={LICENSED}, for={CLIENT}")]
    response = await raw_request(app, "GET", STORY, headers, client=PROXY)
    assert "mw-gate" in response.text
    assert_no_leak(response, ARTICLES[1])


async def test_row29_the_crawler_check_reads_the_same_address(licensed: Any) -> None:
    forged = [
        ("user-agent", GOOGLEBOT_UA),
        ("x-forwarded-for", GOOGLEBOT_IP),
        _written(licensed, CLIENT),
    ]
    response = await raw_request(licensed, "GET", STORY, forged, client=PROXY)
    assert_no_leak(response, ARTICLES[1])
    verified = [("user-agent", GOOGLEBOT_UA), _written(licensed, GOOGLEBOT_IP)]
    response = await raw_request(licensed, "GET", STORY, verified, client=PROXY)
    assert_full_text(response, ARTICLES[1])


_PIECES = ["./", "x/../", "%2e/", "%2E%2e/2026/11/", "/", ";a=1/", "index.php/", "live/../"]
_QUERIES = ["", "?rest.route=/wp/v2/posts", "?a=1&rest+route=/wp/v2/posts", "?p=1", "?_method=GET"]


async def test_row24_row25_no_mix_of_tricks_gets_gated_text(wordpress: Any) -> None:
    chooser = random.Random(11)
    segments = ["2026/", "11/", "harbor-gates/"]
    for _ in range(80):
        parts = list(segments)
        for _ in range(chooser.randint(1, 3)):
            parts.insert(chooser.randint(0, len(parts)), chooser.choice(_PIECES))
        target = "/" + "".join(parts) + chooser.choice(_QUERIES)
        response = await raw_request(wordpress, "GET", target)
        await _assert_no_post_leaks(response)
        if response.status_code == 200:
            assert "mw-gate" in response.text or "Not found" in response.text, target
