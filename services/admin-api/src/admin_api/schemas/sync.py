"""Models for initial syncs, reconciliations, the drift they find and the conflict policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from admin_api.parsing import QueryInt, QueryUUID

Policy = Literal["by_origin", "beds24", "pms", "flag"]
MAX_DRIFT_PAGE = 500


class SyncRun(BaseModel):
    id: UUID
    property_id: UUID
    kind: str = Field(description="initial | reconcile")
    status: str = Field(description="requested | running | done | failed")
    stage: str = Field(description="bookings | reservations | availability | finished")
    progress: dict[str, Any] = Field(
        description="counts so far: pages, bookings_seen, inbound_events, outbound_events, "
        "availability_events, drift_found, drift_repaired, drift_open, drift_dismissed (found "
        "again as an operator dismissed it: not shown)"
    )
    requested_by: str
    last_error: str | None
    requested_at: datetime
    started_at: datetime | None
    updated_at: datetime
    finished_at: datetime | None


class SyncRunList(BaseModel):
    runs: list[SyncRun]


DriftKind = Literal[
    "booking_differs",
    "match_differs",
    "possible_match",
    "missing_in_pms",
    "missing_in_beds24",
    "availability_differs",
    "calendar_differs",
]
Decision = Literal["link", "differ", "keep_beds24", "keep_pms", "dismiss"]
MAX_NOTE = 500


class DriftRecord(BaseModel):
    id: UUID
    property_id: UUID
    run_id: UUID | None
    kind: str = Field(
        description="booking_differs | match_differs | possible_match | missing_in_pms | "
        "missing_in_beds24 | availability_differs"
    )
    subject: str
    beds24_value: Any
    pms_value: Any
    status: str = Field(
        description="open | repaired | resolved | decided (an operator decided; nothing sent)"
    )
    resolution: str | None
    event_id: UUID | None = Field(description="the channel_events row that repairs it")
    decision: Any = Field(
        description="the operator's decision, or null: {decision, by, note, reservation_ids}"
    )
    found_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None


class DriftQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    property_id: QueryUUID | None = None
    status: Literal["open", "repaired", "resolved", "decided"] | None = None
    kind: DriftKind | None = None
    limit: QueryInt = Field(default=100, ge=1, le=MAX_DRIFT_PAGE)
    offset: QueryInt = Field(default=0, ge=0, le=1_000_000)


class DriftPage(BaseModel):
    drift: list[DriftRecord]
    total: int


class SyncPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: Policy = Field(
        description="who wins a stay both sides hold differently: by_origin (Beds24 for "
        "channel bookings, the PMS for its own, anything else flagged), beds24, pms, or "
        "flag (never decide)"
    )


class DriftDecision(BaseModel):
    """An operator's decision on an open drift record (which decisions a kind allows: see
    the operation's description)."""

    model_config = ConfigDict(extra="forbid")

    decision: Decision = Field(
        description="link | differ (possible_match); keep_beds24 | keep_pms | dismiss "
        "(other kinds, as each allows)"
    )
    reservation_id: QueryUUID | None = Field(
        default=None,
        description="link: the proposed reservation that is the booking's stay (required); "
        "differ: the one proposed reservation that is not (default: every one proposed)",
    )
    note: str | None = Field(
        default=None, max_length=MAX_NOTE, description="why, for the audit trail"
    )
