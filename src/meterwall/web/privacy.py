"""The reader's own data: the meter page, the export, and the two deletions.

``/account/meter`` shows what counted and everything stored, in plain words;
``POST /account/meter/delete`` deletes the reading data (the reader stays
signed in, and this period's count stays as a number); ``/account/delete``
asks for the account's email address typed out, and its POST erases the
account (see :mod:`meterwall.privacy.erasure`).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from meterwall.access.service import MeterReport
from meterwall.analytics.transparency import reader_data
from meterwall.billing.ports import GatewayUnavailable, PaymentError
from meterwall.billing.service import BillingDisabled
from meterwall.identity.cookies import new_reader_id
from meterwall.privacy.erasure import delete_account, delete_reading_data
from meterwall.web.account import (
    PRIVATE,
    current_member,
    form_fields,
    login_redirect,
    posted_form,
    redirect,
    render,
    services_of,
    start_session_response,
)
from meterwall.web.client import request_facts
from meterwall.web.reader import Visitor

STRIPE_DOWN = (
    "We could not reach our payment provider to cancel your subscription, so nothing has "
    "been deleted. Please try again in a few minutes."
)


def _local(moment: datetime | None, zone: str) -> datetime | None:
    return moment.astimezone(ZoneInfo(zone)) if moment is not None else None


async def _report(request: Request, visitor: Visitor, now: datetime) -> MeterReport:
    services = services_of(request)
    reader = await services.readers.state(
        request_facts(
            request,
            visitor.reader_id,
            services.settings.trusted_proxies,
            now,
            header=services.settings.client_ip_header,
        )
    )
    return await services.access.report(reader, now)


async def meter_page(request: Request) -> Response:
    """The reader's own meter: what counted, when it resets, what is stored, and deletion."""
    services = services_of(request)
    visitor = services.identity.visitor(request)
    zone = services.settings.policy.timezone
    now = services.clock()
    report = await _report(request, visitor, now)
    stored = await reader_data(services, visitor.reader_id, report, now)
    named = [r for r in report.reads if r.article_id]
    found = await services.articles.by_ids(r.article_id for r in named)
    reads = [
        {
            "article": found.get(r.article_id),
            "article_id": r.article_id,
            "counted_at": _local(r.counted_at, zone),
        }
        for r in named
    ]
    return render(
        request,
        "meter.html",
        {
            "reads": reads,
            "used": len(report.reads),
            "bare": len(report.reads) - len(named),
            "limit": report.limit,
            "resets_at": _local(report.resets_at, zone),
            "timezone": zone,
            "csrf": services.csrf.token(visitor.reader_id, "forget"),
            "deleted": request.query_params.get("deleted") == "1",
            "new_reader": visitor.new,
            "stored": stored,
        },
        visitor,
    )


async def export_my_data(request: Request) -> Response:
    """Everything stored about this reader, as a JSON download (never cached)."""
    services = services_of(request)
    visitor = services.identity.visitor(request)
    now = services.clock()
    report = await _report(request, visitor, now)
    stored = await reader_data(services, visitor.reader_id, report, now)
    response = JSONResponse(
        stored.as_json(now),
        headers={**PRIVATE, "Content-Disposition": 'attachment; filename="my-meterwall-data.json"'},
    )
    services.identity.remember(response, visitor)
    return response


async def forget_me(request: Request) -> Response:
    """Delete this reader's reading data; the reader stays signed in, the count stays."""
    services = services_of(request)
    visitor = services.identity.visitor(request)
    await form_fields(request, visitor, "forget")
    now = services.clock()
    member = await current_member(request, visitor, now)
    await delete_reading_data(services, visitor.reader_id, member.account if member else None, now)
    return redirect("/account/meter?deleted=1")


def _delete_page(
    request: Request, email: str, csrf: str, error: str = "", status_code: int = 200
) -> Response:
    return render(
        request,
        "account_delete.html",
        {"email": email, "csrf": csrf, "error": error},
        status_code=status_code,
    )


async def delete_account_form(request: Request) -> Response:
    """Say what deleting the account does, and ask for the email address typed out."""
    services = services_of(request)
    visitor = services.identity.visitor(request)
    member = await current_member(request, visitor, services.clock())
    if member is None:
        return login_redirect("/account/delete")
    return _delete_page(
        request, member.account.email, services.csrf.token(visitor.reader_id, "delete-account")
    )


async def delete_account_now(request: Request) -> Response:
    """Erase the account once its address is typed; the browser leaves signed out."""
    posted = await posted_form(request, "delete-account", "/account/delete")
    if isinstance(posted, Response):
        return posted
    services = services_of(request)
    now = services.clock()
    visitor, account = posted.visitor, posted.member.account
    csrf = services.csrf.token(visitor.reader_id, "delete-account")
    if posted.fields.get("confirm", "").strip().casefold() != account.email:
        return _delete_page(
            request,
            account.email,
            csrf,
            "That is not your account's email address, so nothing has been deleted.",
            400,
        )
    try:
        await delete_account(services, visitor.reader_id, account, now)
    except (GatewayUnavailable, BillingDisabled, PaymentError):
        return _delete_page(request, account.email, csrf, STRIPE_DOWN, 503)
    return start_session_response(request, "/account/deleted", new_reader_id())


async def account_deleted(request: Request) -> Response:
    """The page after an account is erased."""
    return render(request, "account_deleted.html", {})
