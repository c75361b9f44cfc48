"""Plain ASGI middleware: one canonical path per article, and security headers."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

_PERMISSIONS = "camera=(), microphone=(), geolocation=(), interest-cohort=(), browsing-topics=()"
_HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(
    script: tuple[str, ...] = (), connect: tuple[str, ...] = (), frame: tuple[str, ...] = ()
) -> str:
    """The site's policy, also allowing the given origins for scripts, fetches and frames.

    Only the checkout page uses this, to load the payment provider's script;
    every other page gets the strict default.
    """
    if not (script or connect or frame):
        return _CSP
    parts = [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        " ".join(("script-src 'self'", *script)),
        " ".join(("connect-src 'self'", *connect)),
        " ".join(("frame-src", *frame)) if frame else "frame-src 'none'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(parts)


class CanonicalPathMiddleware:
    """Redirect ``/Articles/Some-Slug/`` style variants to ``/articles/some-slug``.

    The query string is dropped: it never changes what an article page shows,
    so every variant shares one URL, one decision and one meter count.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path[:10].lower() == "/articles/":
                canonical = path.lower()
                while canonical.endswith("/") and len(canonical) > len("/articles/"):
                    canonical = canonical[:-1]
                while "//" in canonical:
                    canonical = canonical.replace("//", "/")
                if canonical != path:
                    response = RedirectResponse(canonical, status_code=301)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    """Add a strict Content-Security-Policy and related headers to every response.

    The set follows OWASP's secure-headers list; ``hsts`` (a site served over
    https) adds ``Strict-Transport-Security``, which must never be sent for a
    site that is reached over plain http.
    """

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", _CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Permissions-Policy", _PERMISSIONS)
                # Stripe's card checks may open a window of their own: allow popups.
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin-allow-popups")
                headers.setdefault("X-Permitted-Cross-Domain-Policies", "none")
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", _HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
