"""Purging cached copies: the purge endpoint, the Ghost webhook and `meterwall cache purge`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.cache_origin import ARTICLE, FRONT, Clock, Origin, cached_proxy
from tests.fixtures.upstream.harness import UPSTREAM, reader
from tests.fixtures.upstream.site import PUBLIC

TOKEN = "purge-token-0123456789"
Factory = Callable[..., Any]


@pytest.fixture
def origin() -> Origin:
    origin = Origin()
    origin.script(ARTICLE, headers={"Cache-Control": "public, max-age=3600"})
    origin.script(FRONT, headers={"Cache-Control": "public, max-age=3600"})
    return origin


@pytest.fixture
async def app(app_factory: Factory, origin: Origin) -> Any:
    return await cached_proxy(app_factory, origin, Clock(time.time()), cache={"purge_token": TOKEN})


async def read_twice(app: Any, path: str) -> str:
    async with reader(app) as browser:
        await browser.get(path)
        return (await browser.get(path)).text


async def post(app: Any, path: str = "/_meterwall/purge", **kwargs: Any) -> Any:
    async with reader(app) as client:
        return await client.post(path, **kwargs)


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_purging_a_url_makes_the_next_reader_get_the_edited_article(
    app: Any, origin: Origin
) -> None:
    assert "VERSION-1" in await read_twice(app, ARTICLE)
    origin.version = 2
    assert "VERSION-1" in await read_twice(app, ARTICLE), "still cached before the purge"
    answer = await post(app, json={"urls": [PUBLIC + ARTICLE]}, headers=bearer())
    assert answer.status_code == 200
    assert answer.json() == {"purged": 1, "urls": [PUBLIC + ARTICLE]}
    assert "VERSION-2" in await read_twice(app, ARTICLE)
    assert origin.hits[ARTICLE] == 2


async def test_purge_accepts_the_upstream_address_paths_and_forms(app: Any, origin: Origin) -> None:
    await read_twice(app, ARTICLE)
    await read_twice(app, FRONT)
    by_upstream = await post(app, json={"url": UPSTREAM + ARTICLE}, headers=bearer())
    by_form = await post(app, data={"url": FRONT}, headers=bearer())
    assert by_upstream.json()["purged"] == 1 and by_form.json()["purged"] == 1
    await read_twice(app, ARTICLE)
    await read_twice(app, FRONT)
    assert origin.hits[ARTICLE] == 2 and origin.hits[FRONT] == 2


async def test_purge_all(app: Any, origin: Origin) -> None:
    await read_twice(app, ARTICLE)
    await read_twice(app, FRONT)
    answer = await post(app, json={"all": True}, headers=bearer())
    assert answer.status_code == 200 and answer.json()["all"] is True
    await read_twice(app, ARTICLE)
    await read_twice(app, FRONT)
    assert origin.hits[ARTICLE] == 2 and origin.hits[FRONT] == 2


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({"json": {"urls": [ARTICLE]}}, 401, "Bearer"),
        ({"json": {"urls": [ARTICLE]}, "headers": bearer("wrong-token-0123456789")}, 401, "Bearer"),
        ({"content": b"{not json", "headers": bearer()}, 400, "not JSON"),
        ({"json": {"urls": "x", "url": 5}, "headers": bearer()}, 400, "list of strings"),
        ({"json": {}, "headers": bearer()}, 400, "name the URLs"),
        ({"json": [1, 2], "headers": bearer()}, 400, "JSON object"),
        ({"json": {"url": "https://evil.example/x"}, "headers": bearer()}, 400, "not on this site"),
    ],
)
async def test_bad_purge_requests_get_a_clear_refusal(
    app: Any, origin: Origin, kwargs: dict[str, Any], status: int, message: str
) -> None:
    await read_twice(app, ARTICLE)
    answer = await post(app, **kwargs)
    assert answer.status_code == status
    assert message in answer.json()["error"]
    if status == 401:
        assert answer.headers["www-authenticate"].startswith("Bearer")
    await read_twice(app, ARTICLE)
    assert origin.hits[ARTICLE] == 1, "nothing was purged"


async def test_purging_is_off_without_a_token_or_without_the_cache(
    app_factory: Factory, origin: Origin
) -> None:
    no_token = await cached_proxy(app_factory, origin)
    answer = await post(no_token, json={"all": True}, headers=bearer())
    assert answer.status_code == 403 and "purge_token" in answer.json()["error"]
    plain = await app_factory(public_url=PUBLIC)
    off = await post(plain, json={"all": True}, headers=bearer())
    assert off.status_code == 404 and "cache is off" in off.json()["error"]


def ghost_signature(body: bytes, secret: str = TOKEN, at: float | None = None) -> str:
    stamp = str(int((time.time() if at is None else at) * 1000))
    digest = hmac.new(secret.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
    return f"sha256={digest}, t={stamp}"


async def test_a_ghost_webhook_purges_the_edited_post(app: Any, origin: Origin) -> None:
    await read_twice(app, ARTICLE)
    await read_twice(app, FRONT)
    body = json.dumps(
        {
            "post": {
                "current": {"url": PUBLIC + ARTICLE, "title": "Edited"},
                "previous": {"url": PUBLIC + FRONT},
            }
        }
    ).encode()
    answer = await post(
        app,
        path="/_meterwall/purge/ghost",
        content=body,
        headers={"X-Ghost-Signature": ghost_signature(body), "Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["purged"] == 2
    await read_twice(app, ARTICLE)
    await read_twice(app, FRONT)
    assert origin.hits[ARTICLE] == 2 and origin.hits[FRONT] == 2


async def test_a_ghost_site_change_purges_everything(app: Any, origin: Origin) -> None:
    await read_twice(app, ARTICLE)
    body = b"{}"
    answer = await post(
        app,
        path="/_meterwall/purge/ghost",
        content=body,
        headers={"X-Ghost-Signature": ghost_signature(body)},
    )
    assert answer.status_code == 200 and answer.json()["all"] is True
    await read_twice(app, ARTICLE)
    assert origin.hits[ARTICLE] == 2


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "sha256=00, t=1",
        ghost_signature(b'{"post": {}}', secret="another-secret-123456"),
        ghost_signature(b'{"post": {}}', at=time.time() - 3600),
    ],
    ids=["missing", "garbage", "wrong-secret", "stale"],
)
async def test_unsigned_or_stale_ghost_deliveries_are_refused(
    app: Any, origin: Origin, signature: str
) -> None:
    await read_twice(app, ARTICLE)
    answer = await post(
        app,
        path="/_meterwall/purge/ghost",
        content=b'{"post": {}}',
        headers={"X-Ghost-Signature": signature},
    )
    assert answer.status_code == 401
    await read_twice(app, ARTICLE)
    assert origin.hits[ARTICLE] == 1


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``meterwall cache purge ...`` in another process, with the server's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("METERWALL_")}
    env.update(
        METERWALL_DATA_DIR=str(data_dir),
        METERWALL_PUBLIC_URL=PUBLIC,
        METERWALL_PROXY__UPSTREAM=UPSTREAM,
        METERWALL_CACHE__ENABLED="true",
    )
    return subprocess.run(
        [sys.executable, "-m", "meterwall", "cache", "purge", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_cli_purges_the_running_servers_memory_cache(
    app: Any, origin: Origin, tmp_path: Path
) -> None:
    await read_twice(app, ARTICLE)
    await read_twice(app, FRONT)
    done = cli(tmp_path, PUBLIC + ARTICLE)
    assert done.returncode == 0, done.stderr
    assert "purged 1 URL(s)" in done.stdout
    await asyncio.sleep(0.15)  # the server reads the purge journal at most every 0.1 s
    await read_twice(app, ARTICLE)
    await read_twice(app, FRONT)
    assert origin.hits[ARTICLE] == 2 and origin.hits[FRONT] == 1
    assert cli(tmp_path, "--all").returncode == 0
    await asyncio.sleep(0.15)
    await read_twice(app, FRONT)
    assert origin.hits[FRONT] == 2


def test_the_cli_explains_its_mistakes(tmp_path: Path) -> None:
    nothing = cli(tmp_path)
    assert nothing.returncode == 2 and "give URLs or --all" in nothing.stderr
    elsewhere = cli(tmp_path, "https://elsewhere.example/a")
    assert elsewhere.returncode == 2 and "not on this site" in elsewhere.stderr
