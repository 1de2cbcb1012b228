"""Models for dead letters: what each is about and what to do with it, and resolving one."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from channel_sync.events import Direction
from pydantic import BaseModel, ConfigDict, Field

from admin_api.dead_letter_context import context_of
from admin_api.parsing import QueryInt, QueryUUID
from admin_api.queries.dead_letters import DeadLetterRow
from admin_api.queries.events import CURSOR_PATTERN
from admin_api.schemas.events import EventSummary, FailureAdvice, advice_of

MAX_DEAD_LETTER_PAGE = 200


class DeadLetterQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    property_id: QueryUUID | None = None
    direction: Direction | None = None
    limit: QueryInt = Field(default=50, ge=1, le=MAX_DEAD_LETTER_PAGE)
    cursor: str | None = Field(
        default=None, pattern=CURSOR_PATTERN, description="next_cursor of the previous page"
    )


class BookingAbout(BaseModel):
    beds24_booking_id: str | None
    reservation_id: UUID | None = Field(description="the PMS reservation")
    guest: str | None = Field(description="initials only; the rest is masked")
    arrival: date | None
    departure: date | None
    beds24_room_id: str | None = Field(
        description="availability, prices and restrictions: the Beds24 room (no booking)"
    )


class DeadLetter(BaseModel):
    event: EventSummary
    property_name: str | None
    about: BookingAbout
    failure: FailureAdvice

    @classmethod
    def of(cls, row: DeadLetterRow) -> DeadLetter:
        advice = advice_of(row.event)
        assert advice is not None  # dead letters are failed events
        context = context_of(row)
        return cls(
            event=EventSummary.of(row.event),
            property_name=row.property_name,
            about=BookingAbout.model_validate(context, from_attributes=True),
            failure=advice,
        )


class DeadLetterPage(BaseModel):
    dead_letters: list[DeadLetter]
    total: int = Field(description="failed events not resolved, matching the filters")
    next_cursor: str | None


class Resolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(
        min_length=1,
        max_length=500,
        description="why it needs nothing more (fixed by hand, not ours, ...); kept with the event",
    )
