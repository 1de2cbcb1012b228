"""Model of GET /admin/stats."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class OldestUnfinished(BaseModel):
    received_at: datetime
    age_s: float


class Stats(BaseModel):
    counts: dict[str, dict[str, int]] = Field(description="direction -> status -> events")
    oldest_unfinished: dict[str, OldestUnfinished | None] = Field(
        description="direction -> oldest `received`/`processing` event (null: none)"
    )
    dlq: dict[str, int | None] = Field(
        description="queue -> ready messages (null: broker unreachable)"
    )
    dead_letters: dict[str, int] = Field(
        description="direction -> failed events no operator has resolved"
    )
