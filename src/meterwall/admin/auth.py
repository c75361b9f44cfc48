"""Who may use ``/admin``: staff sessions, CSRF tokens and the same-origin check.

The staff session cookie is signed, HttpOnly, ``SameSite=Strict`` and scoped
to ``/admin``, so the reader-facing site never sees it.  Every form that
changes something carries a CSRF token bound to the session, and every POST
must come from this site (``Sec-Fetch-Site`` and ``Origin``, when the browser
sends them).  A page asked for without a session redirects to the sign-in
page; an action without one is refused with 403.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit

from itsdangerous import BadSignature, Signer
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from meterwall.admin.staff import StaffDirectory, StaffUser
from meterwall.identity.csrf import CsrfTokens

SESSION_COOKIE = "mw_staff"
LOGIN_COOKIE = "mw_staff_login"
PATH = "/admin"
SECOND_FACTOR_PATH = PATH + "/second-factor"
_ALLOWED_BEFORE_ENROLMENT = frozenset({SECOND_FACTOR_PATH, PATH + "/logout"})

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Staff:
    """The signed-in staff member of a request, and the CSRF token of their forms."""

    user: StaffUser
    token: str
    csrf: str


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".casefold()


class StaffAuth:
    """Signs staff in and out and checks every admin request."""

    def __init__(
        self,
        directory: StaffDirectory,
        secrets_newest_first: Sequence[str],
        *,
        public_url: str,
        session_hours: int,
    ) -> None:
        self.directory = directory
        self._signer = Signer(
            list(reversed(secrets_newest_first)),
            salt="meterwall.staff",
            digest_method=hashlib.sha256,
        )
        self._csrf = CsrfTokens(secrets_newest_first)
        self._public_origin = _origin(public_url)
        self._secure = public_url.startswith("https://")
        self.lifetime = timedelta(hours=session_hours)

    def _unsign(self, value: str | None) -> str | None:
        if not value or len(value) > 300:
            return None
        try:
            return self._signer.unsign(value).decode("ascii")
        except (BadSignature, UnicodeError, ValueError):
            return None

    def _set(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            self._signer.sign(value).decode("ascii"),
            max_age=max_age,
            path=PATH,
            secure=self._secure,
            httponly=True,
            samesite="strict",
        )

    async def staff(self, request: Request, now: datetime) -> Staff | None:
        """The signed-in staff member of this request, if any."""
        token = self._unsign(request.cookies.get(SESSION_COOKIE))
        if token is None:
            return None
        user = await self.directory.session_user(token, now)
        if user is None:
            return None
        return Staff(user, token, self._csrf.token(token, "admin"))

    def same_origin(self, request: Request) -> bool:
        """Whether a state-changing request comes from this site, as far as the browser says."""
        fetch_site = request.headers.get("sec-fetch-site")
        if fetch_site is not None and fetch_site not in ("same-origin", "none"):
            return False
        origin = request.headers.get("origin")
        if origin is None:
            return True
        own = {self._public_origin}
        host = request.headers.get("host")
        if host:
            own.add(f"{request.url.scheme}://{host}".casefold())
        return origin.casefold() in own

    def check_csrf(self, staff: Staff, token: object) -> bool:
        """Whether a form's token belongs to this staff session."""
        return isinstance(token, str) and self._csrf.check(staff.token, "admin", token)

    def login_nonce(self, request: Request) -> tuple[str, bool]:
        """The browser's pre-login nonce (the sign-in form's CSRF token is bound to it),
        and whether it is new and must be set with :meth:`remember_login_nonce`."""
        nonce = self._unsign(request.cookies.get(LOGIN_COOKIE))
        if nonce is None:
            return secrets.token_urlsafe(16), True
        return nonce, False

    def login_token(self, nonce: str) -> str:
        """The sign-in form's CSRF token for this nonce."""
        return self._csrf.token(nonce, "admin-login")

    def remember_login_nonce(self, response: Response, nonce: str) -> None:
        """Set the pre-login nonce cookie (for an hour)."""
        self._set(response, LOGIN_COOKIE, nonce, 3_600)

    def login_form_valid(self, request: Request, token: object) -> bool:
        """Whether a sign-in form was served by this site to this browser."""
        nonce = self._unsign(request.cookies.get(LOGIN_COOKIE))
        return (
            nonce is not None
            and isinstance(token, str)
            and self._csrf.check(nonce, "admin-login", token)
        )

    async def sign_in(self, response: Response, user: StaffUser, ip: str, now: datetime) -> None:
        """Start a session for ``user`` and set its cookie on ``response``."""
        token = await self.directory.start_session(user, ip, now, self.lifetime)
        self._set(response, SESSION_COOKIE, token, int(self.lifetime.total_seconds()))
        response.delete_cookie(LOGIN_COOKIE, path=PATH, secure=self._secure, httponly=True)

    async def sign_out(self, response: Response, staff: Staff) -> None:
        """End the session and remove its cookie."""
        await self.directory.end_session(staff.token)
        response.delete_cookie(
            SESSION_COOKIE, path=PATH, secure=self._secure, httponly=True, samesite="strict"
        )


def _auth(request: Request) -> StaffAuth:
    return request.app.state.services.dashboard.auth  # type: ignore[no-any-return]


async def current_staff(request: Request) -> Staff | None:
    """The signed-in staff member of this request, if any."""
    services = request.app.state.services
    return await _auth(request).staff(request, services.clock())


def must_enrol(request: Request, staff: Staff) -> bool:
    """Whether the publisher requires a second factor that this staff member has not set up
    (they may then only enrol or sign out)."""
    required: bool = request.app.state.services.settings.admin.require_second_factor
    return (
        required
        and not staff.user.second_factor
        and request.url.path not in _ALLOWED_BEFORE_ENROLMENT
    )


def staff_page(handler: Handler) -> Handler:
    """Guard a page: without a staff session, redirect to the sign-in page; without a
    required second factor, to its enrolment page."""

    async def guarded(request: Request) -> Response:
        staff = await current_staff(request)
        if staff is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{PATH}/login?next={quote(target, safe='')}", status_code=303)
        if must_enrol(request, staff):
            return RedirectResponse(SECOND_FACTOR_PATH, status_code=303)
        request.state.staff = staff
        return await handler(request)

    guarded.__name__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    return guarded


MAX_FORM_BYTES = 1_000_000


def _declared_length(request: Request, limit: int) -> None:
    raw = request.headers.get("content-length")
    if raw is None or not raw.isdigit():
        raise HTTPException(411, "Please send the form again (its length was missing).")
    if int(raw) > limit:
        raise HTTPException(413, f"That is too large: the limit is {limit // 1_000_000} MB.")


def _action(handler: Handler, limit: Callable[[Request], int]) -> Handler:
    async def guarded(request: Request) -> Response:
        auth = _auth(request)
        if not auth.same_origin(request):
            raise HTTPException(403, "Admin forms can only be sent from this site.")
        staff = await current_staff(request)
        if staff is None:
            raise HTTPException(403, "Please sign in to the dashboard first.")
        if must_enrol(request, staff):
            raise HTTPException(403, "Please set up a second factor first.")
        _declared_length(request, limit(request))
        form = await request.form()
        if not auth.check_csrf(staff, form.get("csrf")):
            raise HTTPException(403, "This form has expired. Please reload the page and try again.")
        request.state.staff = staff
        return await handler(request)

    guarded.__name__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    return guarded


def staff_action(handler: Handler) -> Handler:
    """Guard a form post: same origin, a staff session (with its second factor when
    required) and its CSRF token, or 403."""
    return _action(handler, lambda _request: MAX_FORM_BYTES)


def staff_upload(handler: Handler) -> Handler:
    """Guard a file upload like :func:`staff_action`, up to the configured upload size."""
    return _action(
        handler,
        lambda request: (
            request.app.state.services.settings.admin.simulator_max_upload_mb * 1_000_000
        ),
    )
