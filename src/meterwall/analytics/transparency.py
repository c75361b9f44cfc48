"""What meterwall stores about one reader, how long it is kept, and the same as JSON.

Shown on the reader's own meter page and exported from
``/account/meter/export.json``: the reader cookie, the meter's counted
articles, the funnel events under the reader's pseudonyms, and, for a
signed-in reader, the account, its sessions, subscriptions, gift links,
complimentary grants, sign-in links and the anonymous reader ids linked to
it at sign-in (whose events are listed too).  ``docs/privacy.md`` says the
same table by table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from meterwall.analytics.events import Event
from meterwall.privacy.erasure import linked_readers, reader_ids
from meterwall.storage.schema import complimentary_grants, gift_links, login_tokens, subscriptions
from meterwall.storage.times import utc

if TYPE_CHECKING:
    from meterwall.access.service import MeterReport
    from meterwall.app import Services

MAX_EVENTS = 500


@dataclass(frozen=True, slots=True)
class Kept:
    """One kind of data kept about the reader, and for how long."""

    what: str
    detail: str
    kept: str


@dataclass(slots=True)
class ReaderData:
    """Everything stored about one reader."""

    reader_id: str
    pseudonyms: list[str]
    kinds: list[Kept]
    meter: list[dict[str, Any]]
    events: list[Event]
    account: dict[str, Any] | None = None
    sessions: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    gift_links: list[dict[str, Any]] = field(default_factory=list)
    complimentary_grants: list[dict[str, Any]] = field(default_factory=list)
    login_links: list[dict[str, Any]] = field(default_factory=list)
    linked_reader_ids: list[str] = field(default_factory=list)

    def as_json(self, now: datetime) -> dict[str, Any]:
        """The export: plain JSON types, times in ISO 8601 UTC."""
        return {
            "exported_at": utc(now).isoformat(),
            "reader_cookie": {"reader_id": self.reader_id},
            "what_is_kept": [
                {"what": k.what, "detail": k.detail, "kept": k.kept} for k in self.kinds
            ],
            "meter": self.meter,
            "events": {
                "pseudonyms": self.pseudonyms,
                "items": [
                    {
                        "kind": e.kind.value,
                        "at": utc(e.at).isoformat(),
                        "article_id": e.article_id,
                        "section": e.section,
                        "referrer_class": e.referrer,
                        "experiment": e.experiment,
                        "variant": e.variant,
                    }
                    for e in self.events
                ],
            },
            "account": self.account,
            "sessions": self.sessions,
            "subscriptions": self.subscriptions,
            "gift_links": self.gift_links,
            "complimentary_grants": self.complimentary_grants,
            "login_links": self.login_links,
            "linked_reader_ids": self.linked_reader_ids,
        }


def _iso(value: datetime | None) -> str | None:
    return utc(value).isoformat() if value is not None else None


async def reader_data(
    services: Services, cookie_reader_id: str, report: MeterReport, now: datetime
) -> ReaderData:
    """Gather what is stored about the reader behind ``cookie_reader_id``."""
    settings = services.settings
    member = await services.members.member(cookie_reader_id, now)
    ids = await reader_ids(services, cookie_reader_id, member.account if member else None)
    data = ReaderData(
        reader_id=cookie_reader_id,
        pseudonyms=[],
        kinds=[],
        meter=[
            {"article_id": r.article_id, "counted_at": _iso(r.counted_at)} for r in report.reads
        ],
        events=[],
    )
    if member is not None:
        account = member.account
        data.linked_reader_ids = await linked_readers(services.engine, account.id)
        data.account = {
            "email": account.email,
            "created_at": _iso(account.created_at),
            "payment_customer": bool(account.stripe_customer_id),
        }
        data.sessions = [
            {
                "device": s.device,
                "ip": s.ip,
                "created_at": _iso(s.created_at),
                "last_seen_at": _iso(s.last_seen_at),
                "expires_at": _iso(s.expires_at),
                "this_browser": s.id == member.session.id,
            }
            for s in await services.members.sessions.of_account(account.id)
        ]
        async with services.engine.connect() as conn:
            subs = await conn.execute(
                select(subscriptions).where(subscriptions.c.account_id == account.id)
            )
            data.subscriptions = [
                {
                    "plan": r.offer_id,
                    "status": r.status,
                    "cancel_at_period_end": bool(r.cancel_at_period_end),
                    "current_period_end": _iso(r.current_period_end),
                }
                for r in subs
            ]
            gifts = await conn.execute(
                select(gift_links).where(gift_links.c.account_id == account.id)
            )
            data.gift_links = [
                {
                    "article_id": r.article_id,
                    "created_at": _iso(r.created_at),
                    "expires_at": _iso(r.expires_at),
                }
                for r in gifts
            ]
            grants = await conn.execute(
                select(complimentary_grants).where(complimentary_grants.c.account_id == account.id)
            )
            data.complimentary_grants = [
                {
                    "granted_at": _iso(r.granted_at),
                    "expires_at": _iso(r.expires_at),
                    "note": r.note,
                }
                for r in grants
            ]
            links = await conn.execute(
                select(login_tokens).where(login_tokens.c.email == account.email)
            )
            data.login_links = [
                {
                    "ip": r.ip,
                    "created_at": _iso(r.created_at),
                    "used_at": _iso(r.used_at),
                }
                for r in links
            ]
    recorder = services.events
    own = [recorder.pseudonyms.of(i) for i in ids]
    data.events = await recorder.of_readers(ids, MAX_EVENTS)
    linked = {e.reader for e in data.events} | {e.alias for e in data.events if e.alias}
    data.pseudonyms = own + sorted(linked - set(own))
    data.kinds = [
        Kept(
            "Reader cookie",
            f"A random reader id ({cookie_reader_id}), signed by the server, in the cookie "
            f"{settings.cookie_name}.",
            f"In your browser for up to {settings.cookie_max_age_days} days after your last visit.",
        ),
        Kept(
            "Meter",
            f"{len(report.reads)} article(s) counted this period, each with the time it counted"
            + (
                f"; {bare} of them only as a number, since you deleted your reading data."
                if (bare := sum(1 for r in report.reads if not r.article_id))
                else " (after you delete your reading data, only the number stays)."
            ),
            "Until the meter period ends.",
        ),
        Kept(
            "Reading events",
            f"{len(data.events)} event(s) (page views, meter notices, walls, sign-ups) under the "
            "pseudonym(s) " + ", ".join(data.pseudonyms) + ": a keyed hash of your reader id, "
            "with the article, its section, where the visit came from (search, social, "
            "internal, direct or other; never the address) and any experiment variant.",
            f"{recorder.retention_days} days, then deleted. When you delete your reading data "
            "they lose every link to you: only the day and the kind of event stay, as "
            "anonymous counts for the publisher's figures.",
        ),
    ]
    if member is not None:
        data.kinds += [
            Kept(
                "Account",
                "Your email address, when the account was made, your sessions (device, IP "
                "address, times), subscriptions, gift links, complimentary access and the "
                f"{len(data.linked_reader_ids)} reader id(s) this browser or others used "
                "before you signed in.",
                f"While your account exists; each session ends "
                f"{settings.accounts.session_days} days after signing in, or when you end it.",
            ),
            Kept(
                "Sign-in links",
                f"{len(data.login_links)} link(s) sent to your address: when, and from which "
                "IP address it was asked for (the link itself only as a hash).",
                "A day.",
            ),
            Kept(
                "Payments",
                "Stripe, our payment provider, holds your card and invoices; we keep only the "
                "plan, status and dates of your subscription.",
                "When you delete your account we cancel the subscription and delete you as a "
                "Stripe customer; Stripe keeps invoices and payments as tax law requires.",
            ),
        ]
    return data
