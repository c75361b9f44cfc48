"""Complimentary access on the dashboard: who has it, why, and revoking it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from meterwall.admin.auth import PATH, staff_action, staff_page
from meterwall.admin.web import render, services_of
from meterwall.identity.accounts import InvalidEmail, normalise_email

MAX_DAYS = 3_660
MAX_NOTE = 500


async def _page(
    request: Request, values: dict[str, str], errors: list[str], status_code: int = 200
) -> Response:
    services = services_of(request)
    return render(
        request,
        "admin_grants.html",
        {
            "grants": await services.billing.store.grants(),
            "now": services.clock(),
            "values": values,
            "errors": errors,
            "done": request.query_params.get("done", ""),
        },
        section="grants",
        status_code=status_code,
    )


@staff_page
async def grants(request: Request) -> Response:
    """Every complimentary grant, newest first, with a form to give one."""
    return await _page(request, {"email": "", "days": "", "note": ""}, [])


@staff_action
async def give(request: Request) -> Response:
    """Give an account (created if new) complimentary access."""
    services = services_of(request)
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in ("email", "days", "note")}
    errors: list[str] = []
    try:
        email = normalise_email(values["email"])
    except InvalidEmail as exc:
        errors.append(str(exc))
    days: int | None = None
    if values["days"]:
        if not values["days"].isdigit() or not 1 <= int(values["days"]) <= MAX_DAYS:
            errors.append(f"Days is a whole number from 1 to {MAX_DAYS}, or empty for no end.")
        else:
            days = int(values["days"])
    if len(values["note"]) > MAX_NOTE:
        errors.append(f"The note can be at most {MAX_NOTE} characters.")
    if errors:
        return await _page(request, values, errors, 400)
    now = services.clock()
    account = await services.members.accounts.get_or_create(email, now)
    await services.billing.grant(account, days, values["note"], now)
    return RedirectResponse(f"{PATH}/grants?done=given", status_code=303)


@staff_action
async def revoke(request: Request) -> Response:
    """End one grant now (its row stays, with the moment it ended)."""
    services = services_of(request)
    form = await request.form()
    grant_id = str(form.get("grant") or "")
    ended = (
        await services.billing.store.revoke(services.clock(), grant_id=grant_id)
        if grant_id.isalnum() and len(grant_id) <= 32
        else 0
    )
    if not ended:
        values = {"email": "", "days": "", "note": ""}
        return await _page(request, values, ["That grant does not exist or has ended."], 404)
    return RedirectResponse(f"{PATH}/grants?done=revoked", status_code=303)
