"""Models for each property's health (`queries.health`): what an operator or a monitoring
system reads to see whether a hotel's sync is moving."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from admin_api.parsing import QueryInt

MAX_PROPERTIES = 500


class ListHealthQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: QueryInt = Field(default=100, ge=1, le=MAX_PROPERTIES, description="by name")


class Lag(BaseModel):
    waiting_since: datetime | None = Field(
        description="when the oldest event not yet done or failed was received (null: none)"
    )
    seconds: float = Field(
        description="its age: how far behind this direction is (0: nothing waiting); the "
        "figure the workers export as channel_sync_property_oldest_pending_event_age_seconds"
    )


class PropertyHealth(BaseModel):
    property_id: UUID
    name: str
    beds24_property_id: int | None = Field(description="null: not connected to Beds24")
    account_id: str | None
    poll_enabled: bool | None
    last_polled_at: datetime | None
    last_webhook_at: datetime | None = Field(description="Beds24's last webhook stored")
    credits_left: Decimal | None = Field(description="the account's, as Beds24 last answered")
    credits_reset_at: datetime | None
    waiting: int = Field(description="events not yet done or failed, both directions")
    failed: int = Field(description="dead letters not resolved")
    inbound_lag: Lag = Field(description="Beds24 to the PMS")
    outbound_lag: Lag = Field(description="the PMS to Beds24")


class HealthList(BaseModel):
    properties: list[PropertyHealth]
