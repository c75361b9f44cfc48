"""What meterwall stores about one reader, how long it is kept, and the same as JSON.

Shown on the reader's own meter page and exported from
``/account/meter/export.json``: the reader cookie, the meter's counted
articles, the funnel events under the reader's pseudonym, and, for a
signed-in reader, the account, its sessions, subscriptions and gift links.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from meterwall.analytics.events import Event
from meterwall.storage.schema import gift_links, subscriptions
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
        }


def _iso(value: datetime | None) -> str | None:
    return utc(value).isoformat() if value is not None else None


async def reader_data(
    services: Services, cookie_reader_id: str, report: MeterReport, now: datetime
) -> ReaderData:
    """Gather what is stored about the reader behind ``cookie_reader_id``."""
    settings = services.settings
    member = await services.members.member(cookie_reader_id, now)
    ids = [cookie_reader_id]
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
        ids.append(f"acct:{account.id}")
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
            f"{len(report.reads)} article(s) counted this period, each with the time it counted.",
            "Until the meter period ends.",
        ),
        Kept(
            "Reading events",
            f"{len(data.events)} event(s) (page views, meter notices, walls, sign-ups) under the "
            "pseudonym(s) " + ", ".join(data.pseudonyms) + ": a keyed hash of your reader id, "
            "with the article, its section, where the visit came from (search, social, "
            "internal, direct or other; never the address) and any experiment variant.",
            f"{recorder.retention_days} days, then deleted.",
        ),
    ]
    if member is not None:
        data.kinds.append(
            Kept(
                "Account",
                "Your email address, when the account was made, your sessions (device, IP "
                "address, times), subscriptions and gift links.",
                f"While your account exists; each session ends "
                f"{settings.accounts.session_days} days after signing in, or when you end it.",
            )
        )
    return data
