"""Policy versions: the meter policy, the gate's copy and the plans, editable without a restart.

Each save is a new row holding the whole document, who saved it, a note and
the list of changes from the version before, so the history reads as a log
and any version can be restored (by saving it again as the newest).  With no
saved version, the settings file is in force.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.access.live import PolicyDocument
from meterwall.storage.schema import policy_versions
from meterwall.storage.times import utc


def _flatten(document: PolicyDocument) -> dict[str, Any]:
    data = document.model_dump(mode="json")
    flat: dict[str, Any] = {}
    for group in ("policy", "copy_text"):
        for key, value in data[group].items():
            flat[f"{group}.{key}"] = value
    for offer in data["offers"]:
        for key, value in offer.items():
            if key != "id":
                flat[f"offers[{offer['id']}].{key}"] = value
    return flat


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "(none)"
    if value in ("", None):
        return "(empty)"
    return str(value)


def changes(before: PolicyDocument, after: PolicyDocument) -> list[str]:
    """What changed between two documents, one line per setting: ``policy.x: 5 → 3``."""
    old, new = _flatten(before), _flatten(after)
    lines: list[str] = []
    old_offers = {o.id for o in before.offers}
    new_offers = {o.id for o in after.offers}
    lines.extend(f"offer {oid} added" for oid in sorted(new_offers - old_offers))
    lines.extend(f"offer {oid} removed" for oid in sorted(old_offers - new_offers))
    for key in new:
        if key in old and old[key] != new[key]:
            lines.append(f"{key}: {_show(old[key])} → {_show(new[key])}")
    return lines


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """One saved policy version."""

    id: int
    created_at: datetime
    created_by: str
    note: str
    document: PolicyDocument
    changes: tuple[str, ...]


def _version(row: RowMapping) -> PolicyVersion:
    return PolicyVersion(
        id=int(row["id"]),
        created_at=utc(row["created_at"]),
        created_by=row["created_by"],
        note=row["note"],
        document=PolicyDocument.model_validate_json(row["document"]),
        changes=tuple(json.loads(row["changes"] or "[]")),
    )


class PolicyVersionStore:
    """Policy versions in the configured database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def newest_id(self) -> int:
        """The id of the newest version; 0 when none was saved."""
        async with self._engine.connect() as conn:
            found = (await conn.execute(select(func.max(policy_versions.c.id)))).scalar()
        return int(found or 0)

    async def get(self, version_id: int) -> PolicyVersion | None:
        """The version with this id, if any."""
        async with self._engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(policy_versions).where(policy_versions.c.id == version_id)
                    )
                )
                .mappings()
                .first()
            )
        return _version(row) if row else None

    async def history(self, limit: int = 50) -> list[PolicyVersion]:
        """The newest versions first."""
        async with self._engine.connect() as conn:
            rows = (
                (
                    await conn.execute(
                        select(policy_versions).order_by(policy_versions.c.id.desc()).limit(limit)
                    )
                )
                .mappings()
                .all()
            )
        return [_version(r) for r in rows]

    async def save(
        self,
        document: PolicyDocument,
        *,
        previous: PolicyDocument,
        by: str,
        note: str,
        now: datetime,
    ) -> PolicyVersion:
        """Store ``document`` as the newest version, logging what changed from ``previous``."""
        lines = changes(previous, document)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                insert(policy_versions).values(
                    created_at=now.astimezone(UTC),
                    created_by=by,
                    note=note[:1_000],
                    document=document.model_dump_json(),
                    changes=json.dumps(lines, ensure_ascii=False),
                )
            )
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return PolicyVersion(
            id=new_id,
            created_at=now.astimezone(UTC),
            created_by=by,
            note=note[:1_000],
            document=document,
            changes=tuple(lines),
        )
