"""Models for multi-room stays (table `stays`) and the reservations (rooms) they hold."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from admin_api.parsing import QueryInt, QueryUUID
from admin_api.schemas.events import EventSummary

MAX_STAYS = 200


class ListStaysQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    property_id: QueryUUID | None = None
    limit: QueryInt = Field(default=50, ge=1, le=MAX_STAYS, description="newest first")


class StayRoom(BaseModel):
    """One room of a stay: its reservation, PMS room and the Beds24 booking it came from."""

    reservation_id: UUID
    status: str
    arrival: date
    departure: date
    room_id: UUID | None = Field(description="null: waiting for a free PMS room")
    room_name: str | None
    beds24_booking_id: int | None = Field(
        description="the Beds24 booking holding this room (for a roomQty booking, its id)"
    )
    beds24_room_number: int = Field(
        description="which room of that booking: 1, or 2..roomQty for a roomQty booking"
    )
    beds24_room_id: str | None = Field(description="the Beds24 room (type) it was sold in")
    needs_attention: bool
    attention_reason: str | None


class StaySummary(BaseModel):
    id: UUID
    property_id: UUID
    beds24_master_id: int | None = Field(description="the Beds24 group's master booking")
    channel_reference: str | None
    rooms_held: int = Field(description="rooms not cancelled")
    rooms_total: int
    created_at: datetime
    updated_at: datetime


class StayDetail(StaySummary):
    beds24_group_ids: list[int] = Field(description="the group's bookings as Beds24 listed them")
    missing_beds24_ids: list[int] = Field(
        description="bookings of the group no reservation holds yet (not received yet)"
    )
    rooms: list[StayRoom]
    events: list[EventSummary] = Field(description="the rooms' events, newest first")


class StayList(BaseModel):
    stays: list[StaySummary]


class ReservationStay(BaseModel):
    """A reservation with the stay it is a room of (null outside a multi-room stay)."""

    room: StayRoom
    property_id: UUID
    stay: StaySummary | None
