"""SQL for the audit trail (table `audit_log`): one insert per action, and the filtered,
newest-first listing the API and the console page read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from channel_sync.db import Connection

from admin_api.identity import Actor

_COLUMNS = """id, at, actor, role, via, action, property_id, event_ids, subject, outcome,
              status, detail"""


async def insert(
    conn: Connection,
    *,
    actor: Actor,
    via: str,
    action: str,
    property_id: UUID | None,
    event_ids: list[UUID],
    subject: str | None,
    outcome: str,
    status: int | None,
    detail: dict[str, Any],
) -> None:
    await conn.execute(
        """INSERT INTO audit_log (actor, operator_id, role, via, action, property_id,
                                  event_ids, subject, outcome, status, detail)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
        actor.name,
        actor.operator_id,
        str(actor.role),
        via,
        action,
        property_id,
        event_ids,
        subject,
        outcome,
        status,
        detail,
    )


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    property_id: UUID | None = None
    event_id: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self) -> tuple[str, list[Any]]:
        conditions: list[str] = []
        args: list[Any] = []
        for template, value in (
            ("lower(actor) = lower(${})", self.actor),
            ("action = ${}", self.action),
            ("outcome = ${}", self.outcome),
            ("property_id = ${}", self.property_id),
            ("event_ids @> ARRAY[${}]::uuid[]", self.event_id),
            ("at >= ${}", self.since),
            ("at < ${}", self.until),
        ):
            if value is not None:
                args.append(value)
                conditions.append(template.format(len(args)))
        return (" AND ".join(conditions) or "TRUE"), args


async def list_page(
    conn: Connection, audit_filter: AuditFilter, *, limit: int, before: int | None = None
) -> tuple[list[asyncpg.Record], int]:
    """Newest first (by id); `before`: the last id of the previous page."""
    where, args = audit_filter.where()
    # Conditions come from AuditFilter's constant templates; every value is a parameter.
    total: int = await conn.fetchval(
        f"SELECT count(*) FROM audit_log WHERE {where}",  # noqa: S608
        *args,
    )
    page_args = list(args)
    if before is not None:
        page_args.append(before)
        where += f" AND id < ${len(page_args)}"
    page_args.append(limit)
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM audit_log WHERE {where} "  # noqa: S608
        f"ORDER BY id DESC LIMIT ${len(page_args)}",
        *page_args,
    )
    return records, total
