"""Request bodies within bounds: a size cap and a time limit between pieces (413 and 408).

A plain ASGI middleware around meterwall's own routes (proxied requests
keep the gateway's own, larger cap).  The limits are enforced where the
body is read, so a route that reads no body pays nothing, and an answer
for a body that is too large or too slow is a clear error page rather
than a worker holding hundreds of megabytes or a connection for minutes.
"""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` (413) or stalled over ``timeout`` seconds (408)."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        too_large = declared is not None and declared > self.max_bytes
        received = 0

        async def bounded() -> Message:
            nonlocal received
            if too_large:
                raise HTTPException(413, f"Send at most {self.max_bytes} bytes.")
            try:
                message = await asyncio.wait_for(receive(), self.timeout)
            except TimeoutError:
                raise HTTPException(408, "The request body arrived too slowly.") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, f"Send at most {self.max_bytes} bytes.")
            return message

        await self.app(scope, bounded, send)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None
