"""Models for one Beds24 room's calendar, the PMS's side beside Beds24's, night by night."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

# The longest span one request reads (to - from, in days): one Beds24 call, a page the
# console can show.
MAX_SPAN_DAYS = 62

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _strict_date(value: Any) -> Any:
    """YYYY-MM-DD only (not a Unix time, not a date-time), as the document states it."""
    if isinstance(value, str) and not _DATE.fullmatch(value):
        raise ValueError("must be a date, YYYY-MM-DD")
    return value


QueryDate = Annotated[date, BeforeValidator(_strict_date)]

Price = float | int


class CalendarQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    room_id: str = Field(
        pattern=r"^[1-9][0-9]{0,18}$", description="the Beds24 room id (mapped for the property)"
    )
    start: QueryDate = Field(alias="from", description="the first night")
    end: QueryDate = Field(
        alias="to",
        description=f"the last night, inclusive; at most {MAX_SPAN_DAYS} days after `from` "
        "(else 422)",
    )


class RatePlanSlot(BaseModel):
    """A Beds24 price slot and the PMS rate plan whose prices fill it."""

    slot: str = Field(description="price1..price16")
    rate_plan_id: UUID
    code: str
    name: str


class SlotPrice(BaseModel):
    slot: str
    rate_plan_code: str
    price: Price | None = Field(description="null: no price for the night (removed in Beds24)")


class PmsNight(BaseModel):
    """What the PMS holds for the night, as it is sent to Beds24."""

    free_units: int = Field(description="mapped PMS rooms not taken that night")
    num_avail: int = Field(description="what is sent as numAvail: free units, 0 on stop-sell")
    prices: list[SlotPrice] = Field(description="per mapped price slot; empty: ARI not managed")
    min_stay: int | None = Field(description="null: ARI not managed")
    max_stay: int | None = Field(description="null: none (or ARI not managed)")
    override: str | None = Field(
        description="none, blackout, noCheckIn, noCheckOut, noCheckInOrCheckOut; null: ARI "
        "not managed"
    )


class Beds24Night(BaseModel):
    """What Beds24's calendar shows for the night (null: a value it did not show)."""

    num_avail: int | None
    prices: dict[str, Price | None] = Field(description="each price slot Beds24 shows")
    min_stay: int | None
    max_stay: int | None
    override: str | None


class CalendarNight(BaseModel):
    night: date
    pms: PmsNight
    beds24: Beds24Night | None = Field(description="null: Beds24 showed nothing for the night")
    differs: list[str] = Field(
        description="the Beds24 fields that differ from the PMS's (numAvail, priceN, minStay, "
        "maxStay, override), as a reconciliation compares them"
    )


class RoomCalendar(BaseModel):
    property_id: UUID
    beds24_property_id: int
    room_id: str = Field(description="the Beds24 room")
    first_night: date
    last_night: date
    manages_ari: bool = Field(
        description="the property sets prices and restrictions from the PMS (a rate plan is "
        "mapped to a price slot); otherwise only availability is compared"
    )
    rate_plans: list[RatePlanSlot] = Field(description="the mapped price slots")
    beds24_room_shown: bool = Field(
        description="Beds24 showed nights of this room (false: not a room the property's "
        "credentials can see)"
    )
    nights: list[CalendarNight]
    differing_nights: int
