"""The request observer: a request id, one log line and the HTTP metrics per request.

Plain ASGI middleware, placed outermost so that it sees every response,
redirects and error pages included.  The request id comes from the
``X-Request-ID`` header only when the request arrived through a configured
trusted proxy and the value looks like an id; otherwise a new one is made.
Either way it is echoed in the response's ``X-Request-ID`` header.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
import time
from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meterwall.ops.context import request_context
from meterwall.ops.metrics import Metrics

log = logging.getLogger("meterwall.request")

REQUEST_ID_HEADER = "X-Request-ID"
UNMATCHED = "unmatched"
"""The route label of a request no route matched (404s, canonical redirects)."""

_VALID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_ID_HEADER = REQUEST_ID_HEADER.lower().encode()


def route_template(scope: Scope) -> str:
    """The path template of the route that served ``scope`` (``/articles/{slug}``)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class RequestObserver:
    """Give each request an id, count it, and log one line when it is done."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        trusted_proxies: Sequence[str] = (),
        access_log: bool = True,
    ) -> None:
        self.app = app
        self._metrics = metrics
        self._trusted = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)
        self._access_log = access_log

    def _from_trusted_proxy(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not self._trusted or not client:
            return False
        try:
            peer = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        return any(peer in network for network in self._trusted)

    def request_id(self, scope: Scope) -> str:
        """The id of this request: the trusted proxy's, or a new one."""
        if self._from_trusted_proxy(scope):
            for name, value in scope.get("headers", ()):
                if name == _ID_HEADER:
                    given = str(value.decode("latin-1")).strip()
                    if _VALID_ID.fullmatch(given):
                        return given
                    break
        return secrets.token_hex(16)  # 128 random bits, as uuid4().hex without its cost

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self.request_id(scope)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with request_context(request_id) as context:
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                # An exception before the response started becomes the error page's 500.
                status = status or 500
                seconds = time.perf_counter() - started
                route = route_template(scope)
                method: str = scope["method"]
                self._metrics.observe_request(method, route, status, seconds)
                if self._access_log:
                    log.log(
                        logging.ERROR if status >= 500 else logging.INFO,
                        "%s %s %d",
                        method,
                        route,
                        status,
                        extra={
                            "fields": {
                                "request_id": request_id,
                                "method": method,
                                "route": route,
                                "path": scope["path"],
                                "status": status,
                                "duration_ms": round(seconds * 1000, 3),
                                "outcome": context.outcome,
                            }
                        },
                    )
