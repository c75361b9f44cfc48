"""Every HTTP endpoint, fed random and malformed requests: never a 500, never an exception.

The endpoints are read from the app's own route table, so a route added
later is fuzzed without touching this file.  Requests are driven straight
through the ASGI interface with hand-built scopes (raw paths, raw query
strings, raw header bytes, bodies split into chunks), which reaches input a
polite HTTP client would refuse to send.  The app runs with its lifespan, on
its own SQLite database with the standard test articles, and with a Stripe
webhook secret so that some webhook deliveries are validly signed and reach
the event handlers.
"""

from __future__ import annotations

import asyncio
import json
import os
import string
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Host, Mount, Route

from meterwall.app import create_app
from meterwall.billing.webhooks import HANDLERS, signature_header
from meterwall.identity.cookies import ReaderCookie
from meterwall.storage.migrate import upgrade
from tests.conftest import standard_articles
from tests.factories import make_settings

WEBHOOK_SECRET = "whsec_fuzzing_secret"
SECRET_KEY = "fuzz-secret-key"
EXAMPLES_PER_ENDPOINT = int(os.environ.get("METERWALL_FUZZ_EXAMPLES", "30"))
"""Raise it (``METERWALL_FUZZ_EXAMPLES=500``) for a longer hunt; CI keeps the default."""
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"]


@dataclass(frozen=True)
class Endpoint:
    """One route: its full path template, methods, and path parameter names."""

    template: str
    methods: tuple[str, ...]
    params: tuple[str, ...]

    def __str__(self) -> str:
        return f"{'|'.join(self.methods) or 'ANY'} {self.template}"


def _walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[Endpoint]:
    for route in routes:
        if isinstance(route, Route):
            yield Endpoint(
                prefix + route.path,
                tuple(sorted(route.methods or ())),
                tuple(route.param_convertors),
            )
        elif isinstance(route, Mount):
            inner = getattr(route.app, "routes", None)
            if inner:
                yield from _walk(list(inner), prefix + route.path)
            else:
                yield Endpoint(prefix + route.path + "/{path}", (), ("path",))
        elif isinstance(route, Host):
            yield from _walk(list(route.routes), prefix)


def _route_table() -> list[Endpoint]:
    """The endpoints of an app built with the fuzzing settings (built only to be read)."""
    folder = Path(tempfile.mkdtemp(prefix="mw-fuzz-routes-"))
    app = create_app(_settings(folder))
    found = {(e.template, e.methods): e for e in _walk(list(app.routes))}
    return sorted(found.values(), key=str)


def _settings(folder: Path) -> Any:
    return make_settings(
        folder,
        auto_migrate=False,
        secret_key=SECRET_KEY,
        stripe={"webhook_secret": WEBHOOK_SECRET},
        ops={"access_log": False},
    )


ENDPOINTS = _route_table()


class Driver:
    """Runs the app's lifespan and sends it hand-built ASGI requests on one event loop."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.runner = asyncio.Runner()
        self._lifespan_in: asyncio.Queue[dict[str, Any]] | None = None
        self._lifespan_out: asyncio.Queue[dict[str, Any]] | None = None
        self._lifespan_task: asyncio.Task[None] | None = None
        self.state: dict[str, Any] = {}

    def start(self) -> None:
        self.runner.run(self._startup())

    def stop(self) -> None:
        try:
            self.runner.run(self._shutdown())
        finally:
            self.runner.close()

    async def _startup(self) -> None:
        self._lifespan_in, self._lifespan_out = asyncio.Queue(), asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self.state}
        self._lifespan_task = asyncio.create_task(
            self.app(scope, self._lifespan_in.get, self._lifespan_out.put)  # type: ignore[arg-type]
        )
        await self._lifespan_in.put({"type": "lifespan.startup"})
        message = await asyncio.wait_for(self._lifespan_out.get(), 30)
        assert message["type"] == "lifespan.startup.complete", message
        await self.app.state.services.articles.save_all((a, "test") for a in standard_articles())

    async def _shutdown(self) -> None:
        assert self._lifespan_in is not None and self._lifespan_out is not None
        await self._lifespan_in.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(self._lifespan_out.get(), 30)
        assert self._lifespan_task is not None
        await asyncio.wait_for(self._lifespan_task, 30)

    def request(
        self,
        method: str,
        raw_path: bytes,
        query: bytes,
        headers: list[tuple[bytes, bytes]],
        chunks: list[bytes],
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        return self.runner.run(
            asyncio.wait_for(self._request(method, raw_path, query, headers, chunks), 30)
        )

    async def _request(
        self,
        method: str,
        raw_path: bytes,
        query: bytes,
        headers: list[tuple[bytes, bytes]],
        chunks: list[bytes],
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            # What uvicorn does: the path is the percent-decoded raw path.
            "path": unquote(raw_path.decode("ascii")),
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": headers,
            "client": ("203.0.113.7", 40_000),
            "server": ("testserver", 80),
            "state": dict(self.state),
        }
        pending = list(chunks) or [b""]
        finished = asyncio.Event()
        started: list[dict[str, Any]] = []
        body = bytearray()

        async def receive() -> dict[str, Any]:
            if pending:
                chunk = pending.pop(0)
                return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
            await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                assert not started, "the response was started twice"
                started.append(message)
            elif message["type"] == "http.response.body":
                assert started, "body sent before the response started"
                assert not finished.is_set(), "body sent after the response ended"
                body.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    finished.set()

        await self.app(scope, receive, send)  # type: ignore[arg-type]
        assert started, "no response at all"
        assert finished.is_set(), "the response never ended"
        response_headers = {k.lower(): v for k, v in started[0].get("headers", [])}
        return int(started[0]["status"]), response_headers, bytes(body)


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    folder = tmp_path_factory.mktemp("fuzz")
    settings = _settings(folder)
    upgrade(settings.resolved_database_url)
    running = Driver(create_app(settings))
    running.start()
    try:
        yield running
    finally:
        running.stop()


# ---- strategies -------------------------------------------------------------------------

KNOWN_PARAMS: dict[str, list[str]] = {
    "slug": ["story-1", "STORY-2", "story-10", "story-11", "no-such-story", "story-1/amp"],
    "offer": ["digital-monthly", "DIGITAL-MONTHLY", "no-such-offer"],
    "path": ["site.css", "img/harbor.svg", "../settings.py", "..%2f..%2fetc/passwd", ""],
}
WEIRD = ["", ".", "..", "%", "%00", "\x00", "\u202e", "a" * 3000, "💥", "<script>", "' OR 1=1 --"]
FIELD_NAMES = [
    "csrf",
    "email",
    "token",
    "next",
    "offer",
    "article",
    "article_id",
    "session",
    "session_id",
    "coupon",
    "code",
    "reader_id",
    "amount",
    "page",
    "q",
]
QUERY_NAMES = [*FIELD_NAMES, "gift", "outputType", "deleted", "sent", "ref", "utm_source"]

printable = st.characters(codec="utf-8", exclude_categories=("Cs",))
short_text = st.one_of(st.text(printable, max_size=40), st.sampled_from(WEIRD))
header_bytes = st.binary(max_size=200).map(lambda b: bytes(c for c in b if c >= 0x20 and c != 0x7F))


def param_value(name: str) -> st.SearchStrategy[str]:
    known = KNOWN_PARAMS.get(name, [])
    free = st.text(printable, min_size=1, max_size=60)
    if name != "path":
        free = free.filter(lambda v: "/" not in v)
    return st.one_of(st.sampled_from(known), free, st.sampled_from(WEIRD)) if known else free


@st.composite
def raw_paths(draw: st.DrawFn, endpoint: Endpoint) -> bytes:
    path = endpoint.template
    for name in endpoint.params:
        value = draw(param_value(name))
        path = path.replace("{" + name + "}", quote(value, safe="/" if name == "path" else ""))
        path = path.replace("{" + name + ":path}", quote(value, safe="/"))
    variant = draw(st.sampled_from(["as is", "upper", "slash", "double", "dot"]))
    if variant == "upper":
        path = path.upper()
    elif variant == "slash":
        path += "/"
    elif variant == "double":
        path = path.replace("/", "//", 1)
    elif variant == "dot":
        path += "/."
    return path.encode("ascii")


queries = st.one_of(
    st.lists(st.tuples(st.sampled_from(QUERY_NAMES), short_text), max_size=5).map(
        lambda pairs: urlencode(pairs).encode()
    ),
    st.binary(max_size=80).map(lambda b: bytes(c for c in b if 0x21 <= c <= 0x7E and c != 0x23)),
    st.sampled_from([b"", b"%", b"%zz", b"a=%ff%fe", b"&&&", b"gift=", b"outputType=AMP"]),
)


def cookie_values() -> st.SearchStrategy[bytes]:
    signer = ReaderCookie([SECRET_KEY])
    valid = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=32).map(
        lambda r: signer.sign(r).encode()
    )
    tampered = valid.map(lambda v: v[:-2] + b"xx")
    return st.one_of(valid, tampered, header_bytes)


@st.composite
def header_lists(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = [(b"host", draw(st.sampled_from([b"testserver", b""])))]
    if draw(st.booleans()):
        name = draw(st.sampled_from([b"mw_reader", b"mw_session", b"mw_staff", b"x"]))
        headers.append((b"cookie", name + b"=" + draw(cookie_values())))
    if draw(st.booleans()):
        headers.append((b"cookie", draw(header_bytes)))
    optional = {
        b"accept": st.sampled_from([b"text/html", b"application/json", b"*/*", b""]),
        b"user-agent": st.one_of(
            st.sampled_from([b"Mozilla/5.0 (compatible; Googlebot/2.1)", b"bingbot"]),
            header_bytes,
        ),
        b"x-forwarded-for": st.sampled_from([b"66.249.66.1", b"::1, junk", b",,,", b"999.1.1.1"]),
        b"forwarded": st.sampled_from([b'for="[::1"', b"for=;;", b"for=66.249.66.1:80"]),
        b"referer": st.one_of(st.sampled_from([b"https://www.google.com/"]), header_bytes),
        b"authorization": st.one_of(st.sampled_from([b"Bearer ", b"Basic !!"]), header_bytes),
        b"stripe-signature": header_bytes,
        b"x-request-id": header_bytes,
        b"accept-language": header_bytes,
        b"if-none-match": header_bytes,
        b"range": st.sampled_from([b"bytes=0-10", b"bytes=9-1", b"bytes=x", b"bytes=0-0,5-"]),
        b"origin": header_bytes,
    }
    for name in draw(st.lists(st.sampled_from(sorted(optional)), unique=True, max_size=5)):
        headers.append((name, draw(optional[name])))
    return headers


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | short_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(short_text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def multipart(draw: st.DrawFn) -> tuple[bytes, bytes]:
    boundary = draw(st.sampled_from([b"XyZ", b"", b"a" * 80]))
    parts = []
    for name, value in draw(st.lists(st.tuples(st.sampled_from(FIELD_NAMES), short_text))):
        disposition = b'Content-Disposition: form-data; name="' + name.encode() + b'"'
        parts.append(b"--" + boundary + b"\r\n" + disposition + b"\r\n\r\n")
        parts.append(value.encode() + b"\r\n")
    body = b"".join(parts) + b"--" + boundary + b"--\r\n"
    if draw(st.booleans()):
        body = body[: draw(st.integers(0, len(body)))]
    return b"multipart/form-data; boundary=" + boundary, body


@st.composite
def bodies(draw: st.DrawFn, template: str) -> tuple[bytes | None, bytes]:
    """A content type (or none) and a body."""
    kind = draw(st.sampled_from(["none", "form", "multipart", "json", "raw", "webhook"]))
    if kind == "form":
        pairs = draw(st.lists(st.tuples(st.sampled_from(FIELD_NAMES), short_text), max_size=6))
        return b"application/x-www-form-urlencoded", urlencode(pairs).encode()
    if kind == "multipart":
        return draw(multipart())
    if kind == "json":
        text = json.dumps(draw(json_values))
        if draw(st.booleans()):
            text = text[: draw(st.integers(0, len(text)))]
        return b"application/json", text.encode()
    if kind == "raw":
        content_type = draw(st.one_of(st.none(), header_bytes))
        return content_type, draw(st.binary(max_size=500))
    if kind == "webhook" or "webhook" in template:
        event = {
            "id": draw(st.one_of(st.text(printable, max_size=30), st.integers())),
            "type": draw(st.one_of(st.sampled_from(sorted(HANDLERS)), short_text)),
            "data": {"object": draw(json_values)},
        }
        if draw(st.booleans()):
            event = draw(json_values)
        return b"application/json", json.dumps(event).encode()
    return None, b""


@st.composite
def requests(draw: st.DrawFn, endpoint: Endpoint) -> tuple[Any, ...]:
    own = list(endpoint.methods) or ["GET"]
    method = draw(st.one_of(st.sampled_from(own), st.sampled_from(METHODS)))
    raw_path = draw(raw_paths(endpoint))
    headers = draw(header_lists())
    content_type, body = draw(bodies(endpoint.template))
    if content_type is not None:
        headers.append((b"content-type", content_type))
    if "webhook" in endpoint.template and draw(st.booleans()):
        header = signature_header(body, WEBHOOK_SECRET, int(time.time()))
        headers.append((b"stripe-signature", header.encode()))
    length = draw(st.sampled_from(["true", "none", "lie"]))
    if length == "true":
        headers.append((b"content-length", str(len(body)).encode()))
    elif length == "lie":
        headers.append((b"content-length", draw(st.sampled_from([b"-1", b"x", b"99999999"]))))
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=3)))
    chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    return method, raw_path, draw(queries), headers, chunks


def check(driver: Driver, request: tuple[Any, ...]) -> None:
    method, raw_path, query, headers, chunks = request
    status, response_headers, body = driver.request(method, raw_path, query, headers, chunks)
    shown = f"{method} {raw_path!r}?{query!r} -> {status}: {body[:300]!r}"
    assert status != 500, shown
    assert 100 <= status <= 599, shown
    if b"content-length" in response_headers and method != "HEAD":
        assert int(response_headers[b"content-length"]) == len(body), shown


FUZZ = settings(
    max_examples=EXAMPLES_PER_ENDPOINT,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_the_route_table_is_not_empty() -> None:
    templates = {e.template for e in ENDPOINTS}
    assert {"/articles/{slug}", "/healthz", "/readyz"} <= templates


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
@FUZZ
@given(data=st.data())
def test_endpoint_never_answers_500(
    driver: Driver, endpoint: Endpoint, data: st.DataObject
) -> None:
    check(driver, data.draw(requests(endpoint)))


@FUZZ
@given(
    method=st.sampled_from(METHODS),
    path=st.text(printable, max_size=120),
    query=queries,
    headers=header_lists(),
)
def test_any_path_never_answers_500(
    driver: Driver, method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    raw_path = quote("/" + path, safe="/%").encode("ascii")
    check(driver, (method, raw_path, query, headers, []))
