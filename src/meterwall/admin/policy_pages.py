"""Editing the meter policy, the gate's copy and the plans, with a versioned log."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from meterwall.access.live import PolicyDocument
from meterwall.admin.auth import PATH, staff_action, staff_page
from meterwall.admin.forms import blank_offer, document_form, read_policy_form
from meterwall.admin.web import render, services_of, staff_of
from meterwall.analytics.experiments import COPY_FIELDS


async def _current(request: Request) -> tuple[int, PolicyDocument]:
    dashboard = services_of(request).dashboard
    newest = await dashboard.versions.newest_id()
    version = await dashboard.versions.get(newest) if newest else None
    if version is None:
        return 0, services_of(request).policies.fallback
    return version.id, version.document


async def _page(
    request: Request, values: dict[str, Any], errors: list[str], note: str, status_code: int = 200
) -> Response:
    services = services_of(request)
    current_id, _document = await _current(request)
    values = {**values, "offers": [*values["offers"], blank_offer()]}
    return render(
        request,
        "admin_policy.html",
        {
            "values": values,
            "copy_fields": COPY_FIELDS,
            "errors": errors,
            "note": note,
            "current_id": current_id,
            "history": await services.dashboard.versions.history(),
            "saved": request.query_params.get("saved", ""),
            "refresh_seconds": services.settings.admin.policy_refresh_seconds,
        },
        section="policy",
        status_code=status_code,
    )


@staff_page
async def policy(request: Request) -> Response:
    """The policy form, filled with the version in force, and the history of versions."""
    _current_id, document = await _current(request)
    return await _page(request, document_form(document), [], "")


@staff_action
async def save_policy(request: Request) -> Response:
    """Save the form as a new policy version (in force within seconds on every worker)."""
    services = services_of(request)
    submitted = read_policy_form(await request.form())
    if submitted.document is None:
        return await _page(request, submitted.values, submitted.errors, submitted.note, 400)
    _current_id, previous = await _current(request)
    version = await services.dashboard.versions.save(
        submitted.document,
        previous=previous,
        by=staff_of(request).user.email,
        note=submitted.note,
        now=services.clock(),
    )
    services.policies.invalidate()
    return RedirectResponse(f"{PATH}/policy?saved={version.id}", status_code=303)


@staff_action
async def restore_policy(request: Request) -> Response:
    """Save an earlier version again as the newest one."""
    services = services_of(request)
    form = await request.form()
    raw = form.get("version")
    found = (
        await services.dashboard.versions.get(int(raw))
        if isinstance(raw, str) and raw.isdigit() and len(raw) < 10
        else None
    )
    if found is None:
        _current_id, document = await _current(request)
        return await _page(
            request, document_form(document), ["There is no such version to restore."], "", 404
        )
    _current_id, previous = await _current(request)
    version = await services.dashboard.versions.save(
        found.document,
        previous=previous,
        by=staff_of(request).user.email,
        note=f"Restored version {found.id}",
        now=services.clock(),
    )
    services.policies.invalidate()
    return RedirectResponse(f"{PATH}/policy?saved={version.id}", status_code=303)
