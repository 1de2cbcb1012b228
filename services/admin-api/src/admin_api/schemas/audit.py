"""Models for the audit trail's listing."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from admin_api.parsing import QueryDateTime, QueryInt, QueryUUID
from admin_api.queries.audit import AuditFilter

MAX_AUDIT_PAGE = 200


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: str | None = Field(
        default=None, min_length=1, max_length=100, description="who acted (any case)"
    )
    action: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9_.]{1,64}$",
        description="e.g. event.retry, event.resolve, drift.decide",
    )
    outcome: Literal["success", "refused"] | None = None
    property_id: QueryUUID | None = None
    event_id: QueryUUID | None = Field(default=None, description="actions on this event")
    since: QueryDateTime | None = Field(default=None, description="at >= since")
    until: QueryDateTime | None = Field(default=None, description="at < until")
    limit: QueryInt = Field(default=50, ge=1, le=MAX_AUDIT_PAGE)
    cursor: str | None = Field(
        default=None,
        pattern=r"^[0-9]{1,19}$",
        description="next_cursor of the previous page",
    )

    def to_filter(self) -> AuditFilter:
        return AuditFilter(
            actor=self.actor,
            action=self.action,
            outcome=self.outcome,
            property_id=self.property_id,
            event_id=self.event_id,
            since=self.since,
            until=self.until,
        )


class AuditRecord(BaseModel):
    id: int
    at: datetime
    actor: str
    role: str | None
    via: Literal["api", "console", "cli"]
    action: str
    property_id: UUID | None
    event_ids: list[UUID]
    subject: str | None
    outcome: Literal["success", "refused"]
    status: int | None = Field(description="the HTTP status answered (none from the CLI)")
    detail: dict[str, Any]

    @classmethod
    def of(cls, record: asyncpg.Record) -> AuditRecord:
        return cls.model_validate(dict(record))


class AuditPage(BaseModel):
    records: list[AuditRecord]
    total: int = Field(description="every record matching the filters")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")
