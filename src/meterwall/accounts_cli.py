"""The account and billing commands behind ``meterwall billing sync``, ``grant`` and ``licence``."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from meterwall.app import Services, build_services, utc_now
from meterwall.billing.ports import GatewayUnavailable, PaymentError
from meterwall.billing.service import BillingDisabled
from meterwall.identity.accounts import InvalidEmail, normalise_email
from meterwall.identity.licences import LicenceKind
from meterwall.settings import Settings
from meterwall.storage.migrate import upgrade

T = TypeVar("T")


def _run(settings: Settings, work: Callable[[Services], Awaitable[T]]) -> T:
    """Run ``work(services)`` on a migrated database, closing the engine afterwards."""
    if settings.auto_migrate:
        upgrade(settings.resolved_database_url)

    async def main() -> T:
        services = build_services(settings)
        try:
            return await work(services)
        finally:
            await services.engine.dispose()

    return asyncio.run(main())


def _fail(message: str) -> int:
    print(f"meterwall: {message}", file=sys.stderr)
    return 1


def billing_sync(settings: Settings) -> int:
    """Re-read subscriptions from Stripe; prints what changed."""

    async def work(services: Services) -> int:
        report = await services.billing.sync(utc_now())
        print(f"checked {report.checked} subscription(s), repaired {report.changed}")
        for missing in report.missing:
            print(f"warning: {missing} is stored here but unknown to Stripe", file=sys.stderr)
        return 0

    try:
        return _run(settings, work)
    except BillingDisabled:
        return _fail("Stripe is not configured (set stripe.secret_key)")
    except (GatewayUnavailable, PaymentError) as exc:
        return _fail(f"Stripe could not be reached: {exc}")


def grant(settings: Settings, email: str, days: int | None, note: str) -> int:
    """Give the account for ``email`` (created if new) complimentary access."""
    try:
        address = normalise_email(email)
    except InvalidEmail as exc:
        return _fail(str(exc))
    if days is not None and days < 1:
        return _fail("--days must be 1 or more")

    async def work(services: Services) -> int:
        now = utc_now()
        account = await services.members.accounts.get_or_create(address, now)
        until = await services.billing.grant(account, days, note, now)
        print(
            f"{address}: complimentary access "
            + (f"until {until:%Y-%m-%d}" if until else "until revoked")
        )
        return 0

    return _run(settings, work)


def revoke_grants(settings: Settings, email: str) -> int:
    """End the complimentary access of the account for ``email`` now."""
    try:
        address = normalise_email(email)
    except InvalidEmail as exc:
        return _fail(str(exc))

    async def work(services: Services) -> int:
        account = await services.members.accounts.by_email(address)
        if account is None:
            return _fail(f"there is no account for {address}")
        ended = await services.billing.revoke_grants(account, utc_now())
        if not ended:
            return _fail(f"{address} has no complimentary access to revoke")
        print(f"{address}: complimentary access revoked ({ended} grant(s) ended)")
        return 0

    return _run(settings, work)


def list_grants(settings: Settings) -> int:
    """Print every complimentary grant, newest first, with its note."""

    async def work(services: Services) -> int:
        now = utc_now()
        grants = await services.billing.store.grants()
        if not grants:
            print("no complimentary grants")
        for g in grants:
            if g.expires_at is None:
                until = "until revoked"
            else:
                until = ("until " if g.live(now) else "ended ") + f"{g.expires_at:%Y-%m-%d %H:%M}"
            note = f"  ({g.note})" if g.note else ""
            print(f"{g.email}  granted {g.granted_at:%Y-%m-%d}  {until}{note}")
        return 0

    return _run(settings, work)


def licence(
    settings: Settings,
    action: str,
    name: str,
    cidr: str | None,
    domain: str | None,
    licence_id: str | None,
) -> int:
    """List, add or remove stored group licences."""

    async def work(services: Services) -> int:
        licences = services.members.licences
        if action == "list":
            for item in await licences.all():
                print(f"{item.id}  {item.kind:<12}  {item.value:<30}  {item.name}")
            for fixed in settings.group_licences.cidrs + settings.group_licences.email_domains:
                print(f"(settings)  {fixed}")
            return 0
        if action == "remove":
            if not licence_id:
                return _fail("licence remove needs --id (see licence list)")
            return 0 if await licences.remove(licence_id) else _fail(f"no licence {licence_id}")
        targets: list[tuple[LicenceKind, str]] = []
        if cidr:
            targets.append(("cidr", cidr))
        if domain:
            targets.append(("email_domain", domain))
        if not targets or not name:
            return _fail("licence add needs --name and --cidr and/or --domain")
        for kind, value in targets:
            try:
                added = await licences.add(name, kind, value)
            except ValueError as exc:
                return _fail(str(exc))
            print(f"added {added.id}: {added.kind} {added.value} for {name}")
        return 0

    return _run(settings, work)
