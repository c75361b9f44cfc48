"""Account pages: passwordless login, the account page with its sessions, logout, dev mailbox.

Login: ``/account/login`` asks for an email and sends a link; the link's GET
(``/account/confirm``) only shows a button, and that button's POST signs in.
Signing in replaces the reader id in the cookie (so one known before login is
worth nothing after it), opens a server-side session bound to the new id, and
folds the browser's anonymous meter into the account's.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from meterwall.access.model import Entitlement
from meterwall.access.policy import meter_window
from meterwall.identity.accounts import InvalidEmail, meter_key, normalise_email
from meterwall.identity.cookies import new_reader_id
from meterwall.identity.devmail import DevMailer
from meterwall.identity.gifts import GIFTING
from meterwall.identity.loginlinks import TooManyLinks, safe_next
from meterwall.identity.mail import MailError, Message
from meterwall.identity.members import Member
from meterwall.metering.ports import MeterUnavailable
from meterwall.privacy.erasure import link_reader
from meterwall.web.client import client_ip
from meterwall.web.reader import Visitor

if TYPE_CHECKING:
    from meterwall.app import Services

PRIVATE = {"Cache-Control": "private, no-store", "Vary": "Cookie"}

READS_EVERYTHING = frozenset(
    {
        Entitlement.SUBSCRIPTION,
        Entitlement.TRIAL,
        Entitlement.COMPLIMENTARY,
        Entitlement.GROUP_LICENCE,
    }
)


def services_of(request: Request) -> Services:
    """The app's services."""
    return request.app.state.services  # type: ignore[no-any-return]


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    visitor: Visitor | None = None,
    status_code: int = 200,
) -> Response:
    """A private page, setting the reader cookie for a new visitor."""
    services = services_of(request)
    response = services.templates.TemplateResponse(
        request, template, context, status_code=status_code
    )
    response.headers.update(PRIVATE)
    if visitor is not None:
        services.identity.remember(response, visitor)
    return response


def redirect(location: str) -> RedirectResponse:
    """A 303 "see other" after a form."""
    response = RedirectResponse(location, status_code=303)
    response.headers.update(PRIVATE)
    return response


def login_redirect(path: str) -> RedirectResponse:
    """Send a reader who must sign in to the login page, coming back to ``path``."""
    return redirect(f"/account/login?next={quote(path, safe='/')}")


async def current_member(request: Request, visitor: Visitor, now: datetime) -> Member | None:
    """The signed-in account of this browser, if any."""
    if visitor.new:
        return None
    return await services_of(request).members.member(visitor.reader_id, now)


async def form_fields(request: Request, visitor: Visitor, purpose: str) -> dict[str, str]:
    """The submitted form's text fields, after checking its CSRF token (400 if it fails)."""
    services = services_of(request)
    try:
        form = await request.form()
    except HTTPException:
        raise  # the body's own limits (413, 408) say more than "could not be read"
    except Exception as exc:  # a malformed body is the sender's fault, never a 500
        raise HTTPException(400, "This form could not be read. Please try again.") from exc
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    token = fields.get("csrf", "")
    if visitor.new or not services.csrf.check(visitor.reader_id, purpose, token):
        raise HTTPException(400, "This form has expired. Please reload the page and try again.")
    return fields


def start_session_response(request: Request, location: str, reader_id: str) -> RedirectResponse:
    """Redirect, replacing the cookie's reader id with ``reader_id``."""
    response = redirect(location)
    services_of(request).identity.set(response, reader_id)
    return response


async def login_form(request: Request) -> Response:
    """Ask for an email address to send a login link to."""
    services = services_of(request)
    visitor = services.identity.visitor(request)
    member = await current_member(request, visitor, services.clock())
    return render(
        request,
        "login.html",
        {
            "next": safe_next(request.query_params.get("next")),
            "csrf": services.csrf.token(visitor.reader_id, "login"),
            "member": member,
            "error": "",
            "email": "",
        },
        visitor,
    )


async def send_login_link(request: Request) -> Response:
    """Send a login link (the same answer whether or not the address has an account)."""
    services = services_of(request)
    visitor = services.identity.visitor(request)
    fields = await form_fields(request, visitor, "login")
    next_path = safe_next(fields.get("next"))
    context = {
        "next": next_path,
        "csrf": services.csrf.token(visitor.reader_id, "login"),
        "member": None,
        "email": fields.get("email", "")[:320],
    }
    try:
        email = normalise_email(fields.get("email", ""))
    except InvalidEmail as exc:
        return render(request, "login.html", {**context, "error": str(exc)}, visitor, 400)
    ip = client_ip(request, services.settings.trusted_proxies, services.settings.client_ip_header)
    try:
        token = await services.login_links.issue(email, ip, next_path, services.clock())
    except TooManyLinks:
        return render(
            request,
            "login.html",
            {
                **context,
                "error": "Too many login links were requested. Please wait an hour and try again.",
            },
            visitor,
            429,
        )
    site = services.settings.site_name
    link = services.login_links.url(token)
    minutes = services.settings.accounts.login_link_minutes
    message = Message(
        to=email,
        subject=f"Your sign-in link for {site}",
        text=(
            f"Hello,\n\nUse this link to sign in to {site}:\n\n{link}\n\n"
            f"It works once, within {minutes} minutes. "
            "If you did not ask for it, you can ignore this email.\n"
        ),
    )
    try:
        await services.mailer.send(message)
    except MailError:
        return render(
            request,
            "login.html",
            {**context, "error": "We could not send the email just now. Please try again later."},
            visitor,
            503,
        )
    return redirect("/account/login/sent")


async def login_sent(request: Request) -> Response:
    """Tell the reader to check their inbox."""
    services = services_of(request)
    return render(
        request,
        "login_sent.html",
        {
            "minutes": services.settings.accounts.login_link_minutes,
            "dev_mailbox": isinstance(services.mailer, DevMailer),
        },
    )


async def confirm_form(request: Request) -> Response:
    """The page a login link opens: a button, so fetching the link signs nobody in."""
    services = services_of(request)
    visitor = services.identity.visitor(request)
    token = request.query_params.get("token", "")
    pending = await services.login_links.peek(token, services.clock())
    return render(
        request,
        "confirm.html",
        {
            "token": token if pending else "",
            "email": pending.email if pending else "",
            "csrf": services.csrf.token(visitor.reader_id, "confirm"),
        },
        visitor,
        200 if pending else 400,
    )


async def confirm(request: Request) -> Response:
    """Use the login token: sign in with a fresh reader id, merging the anonymous meter."""
    services = services_of(request)
    visitor = services.identity.visitor(request)
    fields = await form_fields(request, visitor, "confirm")
    now = services.clock()
    pending = await services.login_links.consume(fields.get("token", ""), now)
    if pending is None:
        return render(
            request,
            "confirm.html",
            {"token": "", "email": "", "csrf": services.csrf.token(visitor.reader_id, "confirm")},
            visitor,
            400,
        )
    members = services.members
    known = await members.accounts.by_email(pending.email)
    account = await members.accounts.get_or_create(pending.email, now)
    if known is None:
        # The alias links the new account to the browser's anonymous reading (the funnel).
        services.events.record(
            "registration",
            reader_id=meter_key(account.id),
            at=now,
            alias_reader_id=visitor.reader_id,
        )
    previous = await members.member(visitor.reader_id, now)
    if previous is not None:
        await members.sessions.end_reader(visitor.reader_id)
    else:
        # What this browser recorded before signing in is the account's to export and delete.
        await link_reader(services.engine, account.id, visitor.reader_id, now)
        # With the meter store down the anonymous reads stay where they were:
        # signing in matters more than carrying them over.
        with contextlib.suppress(MeterUnavailable):
            await services.access.meter.merge(
                visitor.reader_id,
                meter_key(account.id),
                meter_window(await services.access.policy_for(meter_key(account.id)), now),
                now,
            )
    fresh = new_reader_id()
    await members.sessions.start(
        account.id,
        fresh,
        request.headers.get("user-agent", ""),
        client_ip(request, services.settings.trusted_proxies, services.settings.client_ip_header),
        now,
    )
    return start_session_response(request, pending.next_path, fresh)


async def logout(request: Request) -> Response:
    """End this browser's session and give it a fresh, anonymous reader id."""
    services = services_of(request)
    visitor = services.identity.visitor(request)
    await form_fields(request, visitor, "account")
    await services.members.sessions.end_reader(visitor.reader_id)
    return start_session_response(request, "/", new_reader_id())


async def account_page(request: Request) -> Response:
    """The account: subscription, sessions (each can be ended), gift links, sign out."""
    services = services_of(request)
    visitor = services.identity.visitor(request)
    now = services.clock()
    member = await current_member(request, visitor, now)
    if member is None:
        return login_redirect("/account")
    account = member.account
    entitlements = await services.billing.entitlements(account.id, now)
    licensed = await services.members.licences.covers(
        client_ip(request, services.settings.trusted_proxies, services.settings.client_ip_header),
        account.email,
    )
    subscription = await services.billing.current(account.id, now)
    sent = await services.members.gifts.sent(account.id)
    offer = None
    if subscription is not None:
        # The plan as the policy in force names it (plans added in the dashboard are not
        # in the settings file); a plan since removed keeps the settings file's name.
        live = await services.policies.for_reader(visitor.reader_id)
        offer = next(
            (o for o in live.offers if o.id == subscription.offer_id),
            services.billing.offer(subscription.offer_id),
        )
    return render(
        request,
        "account.html",
        {
            "account": account,
            "subscription": subscription,
            "offer": offer,
            "entitlements": sorted(e.value for e in entitlements),
            "licensed": licensed,
            "complimentary_until": await services.billing.store.complimentary_until(
                account.id, now
            ),
            "sessions": await services.members.sessions.of_account(account.id),
            "current_session": member.session.id,
            "gifts_used": await services.members.gifts.used_this_month(account.id, now),
            "gifts_sent": sent,
            "gift_articles": await services.articles.by_ids({g.article_id for g in sent}),
            "gift_cap": services.settings.gifts.max_recipients,
            "now": now,
            "gift_allowance": services.members.gifts.allowance,
            "may_gift": bool(entitlements & GIFTING),
            "csrf": services.csrf.token(visitor.reader_id, "account"),
            "notice": request.query_params.get("notice", ""),
        },
    )


@dataclass(frozen=True, slots=True)
class Posted:
    """A form a signed-in reader posted: its fields (CSRF checked), the browser, the member."""

    fields: dict[str, str]
    visitor: Visitor
    member: Member


async def posted_form(request: Request, purpose: str, back: str) -> Posted | Response:
    """The form posted for ``purpose`` by a signed-in reader, or the way to the sign-in
    page (returning to ``back``) when the browser is not signed in."""
    services = services_of(request)
    visitor = services.identity.visitor(request)
    fields = await form_fields(request, visitor, purpose)
    member = await current_member(request, visitor, services.clock())
    if member is None:
        return login_redirect(back)
    return Posted(fields, visitor, member)


async def end_other_sessions(request: Request) -> Response:
    """Sign out every other browser of the account; this one stays signed in."""
    posted = await posted_form(request, "account", "/account")
    if isinstance(posted, Response):
        return posted
    member = posted.member
    sessions = services_of(request).members.sessions
    await sessions.end_others(member.account.id, member.session.id)
    return redirect("/account?notice=others-ended")


async def revoke_gift(request: Request) -> Response:
    """The giver ends one of their gift links (readers who opened it keep the article)."""
    posted = await posted_form(request, "account", "/account")
    if isinstance(posted, Response):
        return posted
    services = services_of(request)
    gift_id = posted.fields.get("gift", "")[:32]
    account_id = posted.member.account.id
    revoked = await services.members.gifts.revoke(account_id, gift_id, services.clock())
    return redirect("/account?notice=" + ("gift-revoked" if revoked else "gift-unknown"))


async def end_session(request: Request) -> Response:
    """End one of the account's sessions (this one included)."""
    posted = await posted_form(request, "account", "/account")
    if isinstance(posted, Response):
        return posted
    session_id = posted.fields.get("session", "")
    await services_of(request).members.sessions.end(posted.member.account.id, session_id)
    if session_id == posted.member.session.id:
        return start_session_response(request, "/", new_reader_id())
    return redirect("/account?notice=session-ended")


async def dev_mailbox(request: Request) -> Response:
    """The demo's mailbox: messages the dev mailer "sent" (404 with a real mailer)."""
    services = services_of(request)
    mailer = services.mailer
    if not isinstance(mailer, DevMailer):
        raise HTTPException(404, "There is no mailbox on this site.")
    return render(request, "mailbox.html", {"messages": mailer.messages})
