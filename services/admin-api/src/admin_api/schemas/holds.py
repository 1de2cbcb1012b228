"""Models for inventory holds (table `inventory_holds`) as operators see them."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from admin_api.parsing import QueryInt

MAX_HOLDS = 500


class ListHoldsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: QueryInt = Field(default=100, ge=1, le=MAX_HOLDS, description="oldest first")


class Hold(BaseModel):
    id: UUID
    room_type_id: UUID | None = Field(description="the room type held (null: a given room)")
    room_id: UUID | None = Field(description="the room held, when one was named")
    held: str = Field(description="the room type's or room's name")
    beds24_room_id: str = Field(description="the Beds24 room whose availability it lowers")
    arrival: date
    departure: date
    reference: str = Field(description="the placer's reference, e.g. a booking engine's cart")
    placed_by: str
    created_at: datetime
    expires_at: datetime
    age_s: float = Field(description="seconds since it was placed")
    expires_in_s: float = Field(description="seconds left (negative: past due, not reaped yet)")


class HoldList(BaseModel):
    holds: list[Hold]
    total: int = Field(description="live holds of the property")
