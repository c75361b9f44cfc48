"""Setting up a staff member's second factor (TOTP) at ``/admin/second-factor``.

The page shows a fresh secret as text and as an ``otpauth://`` URI to paste
into an authenticator app; the staff member proves the app has it by typing
one current code, and only then is it stored.  The secret travels in the
form (it is on the page anyway), bound to the session by the CSRF token.
"""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from meterwall.admin.auth import PATH, staff_action, staff_page
from meterwall.admin.totp import code_valid, new_secret, provisioning_uri
from meterwall.admin.web import render, services_of, staff_of


def _secret(raw: object) -> str | None:
    """A base32 secret as :func:`new_secret` makes them, or ``None``."""
    if not isinstance(raw, str) or len(raw) != 32:
        return None
    try:
        base64.b32decode(raw, casefold=False)
    except (binascii.Error, ValueError):
        return None
    return raw


def _page(request: Request, secret: str, error: str = "", status_code: int = 200) -> Response:
    staff = staff_of(request)
    issuer = services_of(request).settings.site_name
    context = {
        "enrolled": staff.user.second_factor,
        "secret": secret,
        "uri": provisioning_uri(secret, staff.user.email, issuer),
        "error": error,
    }
    return render(
        request,
        "admin_second_factor.html",
        context,
        section="second-factor",
        status_code=status_code,
    )


@staff_page
async def second_factor(request: Request) -> Response:
    """The enrolment page (or a note that a second factor is already set up)."""
    return _page(request, new_secret())


@staff_action
async def enrol(request: Request) -> Response:
    """Store the secret once a code from it checks out."""
    form = await request.form()
    secret = _secret(form.get("secret"))
    if secret is None:
        return _page(request, new_secret(), "That form was damaged. Please try again.", 400)
    services = services_of(request)
    staff = staff_of(request)
    if staff.user.second_factor:
        return RedirectResponse(PATH + "/second-factor", status_code=303)
    if not code_valid(secret, form.get("code"), services.clock()):
        return _page(request, secret, "That code is not right. Type the current one.", 400)
    await services.dashboard.staff.enrol_totp(staff.user, secret)
    return RedirectResponse(PATH + "/funnel", status_code=303)
