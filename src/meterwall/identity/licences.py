"""Group licences: whole networks (a campus, a library) or email domains read without paying.

Licences come from two places: the settings (``group_licences.cidrs`` and
``group_licences.email_domains``) and the ``group_licences`` table, managed
with ``meterwall licence``.  The table is read at most every few seconds.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.settings import GroupLicenceSettings
from meterwall.storage.schema import group_licences

LicenceKind = Literal["cidr", "email_domain"]
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_REFRESH_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class GroupLicence:
    """One stored licence."""

    id: str
    name: str
    kind: LicenceKind
    value: str


def normalise_licence(kind: LicenceKind, value: str) -> str:
    """The stored form of a licence value; :class:`ValueError` with a clear message if bad."""
    if kind == "cidr":
        try:
            return str(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an IP network such as 192.0.2.0/24") from exc
    domain = value.strip().lstrip("@").casefold()
    if not domain or "." not in domain or any(c.isspace() for c in domain):
        raise ValueError(f"{value!r} is not an email domain such as example.edu")
    return domain


class GroupLicences:
    """Answers whether a client address or an account's email domain is licensed."""

    def __init__(self, engine: AsyncEngine, settings: GroupLicenceSettings) -> None:
        self._engine = engine
        self._fixed_networks = tuple(ipaddress.ip_network(c, strict=False) for c in settings.cidrs)
        self._fixed_domains = frozenset(settings.email_domains)
        self._networks: tuple[_Network, ...] = self._fixed_networks
        self._domains: frozenset[str] = self._fixed_domains
        self._loaded_at = float("-inf")

    async def _refresh(self) -> None:
        if time.monotonic() - self._loaded_at < _REFRESH_SECONDS:
            return
        stored = await self.all()
        self._networks = self._fixed_networks + tuple(
            ipaddress.ip_network(g.value, strict=False) for g in stored if g.kind == "cidr"
        )
        self._domains = self._fixed_domains | {g.value for g in stored if g.kind == "email_domain"}
        self._loaded_at = time.monotonic()

    async def covers(self, ip: str, email: str | None) -> bool:
        """Whether a request from ``ip`` (by an account with ``email``) is licensed."""
        await self._refresh()
        if email is not None and email.rpartition("@")[2] in self._domains:
            return True
        if not self._networks:
            return False
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in net for net in self._networks)

    async def all(self) -> list[GroupLicence]:
        """The stored licences."""
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(select(group_licences).order_by(group_licences.c.name))
            ).all()
        return [GroupLicence(r.id, r.name, r.kind, r.value) for r in rows]

    async def add(self, name: str, kind: LicenceKind, value: str) -> GroupLicence:
        """Store a licence (``ValueError`` for a bad value)."""
        licence = GroupLicence(secrets.token_hex(8), name, kind, normalise_licence(kind, value))
        async with self._engine.begin() as conn:
            await conn.execute(
                group_licences.insert().values(
                    id=licence.id,
                    name=name,
                    kind=kind,
                    value=licence.value,
                    created_at=datetime.now(UTC),
                )
            )
        self._loaded_at = float("-inf")
        return licence

    async def remove(self, licence_id: str) -> bool:
        """Delete a stored licence; whether it existed."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(group_licences).where(group_licences.c.id == licence_id)
            )
        self._loaded_at = float("-inf")
        return result.rowcount == 1
