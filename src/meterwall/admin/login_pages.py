"""Signing staff in and out of the dashboard."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from meterwall.admin.auth import PATH, current_staff, staff_action
from meterwall.admin.staff import TooManyAttempts
from meterwall.admin.web import render, services_of, staff_of
from meterwall.web.client import client_ip


def _next(raw: object) -> str:
    """A dashboard path to go to after signing in; anything else is the dashboard's home."""
    if (
        isinstance(raw, str)
        and raw.startswith(PATH + "/")
        and not raw.startswith("//")
        and "\\" not in raw
        and len(raw) < 500
        and all(ord(c) >= 32 for c in raw)
        and not raw.startswith(PATH + "/login")
    ):
        return raw
    return PATH + "/funnel"


def _form(
    request: Request,
    *,
    email: str = "",
    error: str = "",
    status_code: int = 200,
    next_path: object = None,
) -> Response:
    auth = services_of(request).dashboard.auth
    nonce, new = auth.login_nonce(request)
    context = {
        "email": email,
        "error": error,
        "next": _next(next_path if next_path is not None else request.query_params.get("next")),
        "csrf": auth.login_token(nonce),
    }
    response = render(
        request, "admin_login.html", context, section="login", status_code=status_code
    )
    if new:
        auth.remember_login_nonce(response, nonce)
    return response


async def login_form(request: Request) -> Response:
    """The sign-in page (or the dashboard, when already signed in)."""
    if await current_staff(request) is not None:
        return RedirectResponse(_next(request.query_params.get("next")), status_code=303)
    return _form(request)


async def login(request: Request) -> Response:
    """Check the credentials, rate limited per email and per address."""
    services = services_of(request)
    auth = services.dashboard.auth
    if not auth.same_origin(request):
        raise HTTPException(403, "Admin forms can only be sent from this site.")
    raw_length = request.headers.get("content-length", "")
    if not raw_length.isdigit() or int(raw_length) > 10_000:
        raise HTTPException(413, "That sign-in form is too large.")
    form = await request.form()
    email = str(form.get("email") or "")[:320]
    password = str(form.get("password") or "")
    next_path = form.get("next")
    if not auth.login_form_valid(request, form.get("csrf")):
        return _form(
            request,
            email=email,
            error="This sign-in form has expired. Please try again.",
            status_code=400,
            next_path=next_path,
        )
    ip = client_ip(request, services.settings.trusted_proxies, services.settings.client_ip_header)
    now = services.clock()
    try:
        user = await services.dashboard.staff.authenticate(
            email, password, ip, now, form.get("code")
        )
    except TooManyAttempts:
        return _form(
            request,
            email=email,
            error="Too many failed sign-ins. Please wait 15 minutes and try again.",
            status_code=429,
            next_path=next_path,
        )
    except PermissionError:
        return _form(
            request,
            email=email,
            error="Wrong email, password or one-time code.",
            status_code=400,
            next_path=next_path,
        )
    response = RedirectResponse(_next(next_path), status_code=303)
    await auth.sign_in(response, user, ip, now)
    return response


@staff_action
async def logout(request: Request) -> Response:
    """End the staff session."""
    response = RedirectResponse(PATH + "/login", status_code=303)
    await services_of(request).dashboard.auth.sign_out(response, staff_of(request))
    return response
