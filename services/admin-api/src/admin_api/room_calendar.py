"""One Beds24 room's calendar, night by night, the PMS's side beside Beds24's, for the JSON
route and the console alike.

The PMS's side is what the outbound worker sends: free units (0 on a stop-sell night) and,
where the property manages rates and restrictions, the price of each mapped slot, minStay,
maxStay and override (`channel_sync.pms_calendar`, the one home of what they mean in
Beds24). Beds24's side is ONE `GET /inventory/rooms/calendar` with every include flag. The
fields that differ are those a reconciliation would find (the same comparison): a night
Beds24 does not show is not compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from channel_sync.beds24 import Beds24AuthError
from channel_sync.beds24.links import PropertyLink, link_of
from channel_sync.errors import PermanentError
from channel_sync.pms_availability import free_units
from channel_sync.pms_calendar import PRICE_SLOTS, calendar_values, closed, differences, unpriced

from admin_api.beds24_access import Beds24Access
from admin_api.errors import NotFound, Unprocessable, UpstreamError
from admin_api.queries import calendar, properties
from admin_api.schemas.calendar import (
    MAX_SPAN_DAYS,
    Beds24Night,
    CalendarNight,
    PmsNight,
    RatePlanSlot,
    RoomCalendar,
    SlotPrice,
)

NUM_AVAIL = "numAvail"


@dataclass(frozen=True)
class PmsCalendar:
    """The PMS's side of a room's calendar, read in one go."""

    property_id: UUID
    link: PropertyLink
    room_id: str
    nights: list[date]
    free: dict[date, int]
    values: dict[date, dict[str, Any]]  # pms_calendar.calendar_values (empty: not managed)
    slots: list[RatePlanSlot]


def check_range(start: date, end: date) -> list[date]:
    """The nights `start`..`end` inclusive; 422 when reversed or longer than allowed."""
    if end < start:
        raise Unprocessable(f"'to' ({end}) is before 'from' ({start})")
    span = (end - start).days
    if span > MAX_SPAN_DAYS:
        raise Unprocessable(
            f"'to' is {span} days after 'from': at most {MAX_SPAN_DAYS} days per request"
        )
    return [start + timedelta(days=n) for n in range(span + 1)]


async def pms_side(
    pool: asyncpg.Pool, property_id: UUID, room_id: str, start: date, end: date
) -> PmsCalendar:
    async with pool.acquire() as conn:
        if await properties.get(conn, property_id) is None:
            raise NotFound(f"no property {property_id}")
        nights = check_range(start, end)
        link = await link_of(conn, property_id)
        if link is None:
            raise NotFound(
                f"property {property_id} is not registered with Beds24: register it "
                "(POST /admin/properties) before reading its calendar"
            )
        if not await calendar.is_mapped(conn, property_id, room_id):
            raise NotFound(
                f"Beds24 room {room_id} is not mapped for property {property_id}: map a PMS "
                f"room or room type to it (PUT /admin/properties/{property_id}/mappings)"
            )
        free = await free_units(conn, property_id, room_id, nights)
        slots = await calendar.rate_plan_slots(conn, property_id)
        try:
            values = await calendar_values(conn, property_id, room_id, nights)
        except PermanentError as exc:  # rooms of several room types: no one price applies
            raise Unprocessable(str(exc)) from None
    return PmsCalendar(property_id, link, room_id, nights, free, values, slots)


async def beds24_side(beds24: Beds24Access, pms: PmsCalendar) -> dict[date, dict[str, Any]]:
    """What Beds24 shows per night for the room (nights it does not show are absent).
    Beds24 errors are raised (the JSON API maps them; the console shows them)."""
    account = pms.link.account
    try:
        answer = await beds24.calendar(
            account.refresh_token,
            account.account_id,
            int(pms.room_id),
            pms.nights[0],
            pms.nights[-1],
        )
    except Beds24AuthError as exc:
        raise UpstreamError(
            f"{exc}; replace the credentials with "
            f"PUT /admin/properties/{pms.property_id}/credentials"
        ) from None
    return _days_of(answer, pms.room_id)


def compare(pms: PmsCalendar, shown: dict[date, dict[str, Any]] | None) -> RoomCalendar:
    """Night by night; `shown` None: Beds24 was not asked (the PMS's side alone)."""
    nights = [
        _night(pms, night, None if shown is None else shown.get(night)) for night in pms.nights
    ]
    return RoomCalendar(
        property_id=pms.property_id,
        beds24_property_id=pms.link.beds24_property_id,
        room_id=pms.room_id,
        first_night=pms.nights[0],
        last_night=pms.nights[-1],
        manages_ari=bool(pms.slots),
        rate_plans=pms.slots,
        beds24_room_shown=bool(shown),
        nights=nights,
        differing_nights=sum(1 for n in nights if n.differs),
    )


async def room_calendar(
    pool: asyncpg.Pool,
    beds24: Beds24Access,
    property_id: UUID,
    room_id: str,
    start: date,
    end: date,
) -> RoomCalendar:
    pms = await pms_side(pool, property_id, room_id, start, end)
    return compare(pms, await beds24_side(beds24, pms))


def _night(pms: PmsCalendar, night: date, shown: dict[str, Any] | None) -> CalendarNight:
    values = pms.values.get(night, {})
    sent = 0 if closed(values) else pms.free[night]
    codes = {s.slot: s.code for s in pms.slots}
    side = PmsNight(
        free_units=pms.free[night],
        num_avail=sent,
        prices=[
            SlotPrice(slot=slot, rate_plan_code=codes.get(slot, ""), price=values[slot])
            for slot in PRICE_SLOTS
            if slot in values
        ],
        min_stay=values.get("minStay"),
        max_stay=values.get("maxStay"),
        override=values.get("override"),
    )
    differs: list[str] = []
    if shown is not None:
        held = _int_or_none(shown.get(NUM_AVAIL))
        if (
            held is not None
            and max(held, 0) != sent
            # Beds24 sells nothing without a price: 0 there is no availability difference.
            and not (held == 0 and unpriced(values))
        ):
            differs.append(NUM_AVAIL)
        differs += list(differences(values, shown))
    return CalendarNight(
        night=night,
        pms=side,
        beds24=None if shown is None else _beds24_night(shown),
        differs=differs,
    )


def _beds24_night(shown: dict[str, Any]) -> Beds24Night:
    """Beds24's values, each kept only when of the type Beds24 documents (else null)."""
    return Beds24Night(
        num_avail=_int_or_none(shown.get(NUM_AVAIL)),
        prices={slot: _number(shown[slot]) for slot in PRICE_SLOTS if slot in shown},
        min_stay=_int_or_none(shown.get("minStay")),
        max_stay=_int_or_none(shown.get("maxStay")),
        override=shown["override"] if isinstance(shown.get("override"), str) else None,
    )


def _days_of(answer: list[dict[str, Any]], room_id: str) -> dict[date, dict[str, Any]]:
    """The room's compressed ranges, night by night."""
    shown: dict[date, dict[str, Any]] = {}
    for item in answer:
        if not isinstance(item, dict) or str(item.get("roomId")) != room_id:
            continue
        for span in item.get("calendar") or []:
            try:
                first = date.fromisoformat(str(span["from"]))
                final = date.fromisoformat(str(span.get("to") or span["from"]))
            except (KeyError, TypeError, ValueError):
                continue  # a range Beds24 garbled: its nights show as not shown
            values = {k: v for k, v in span.items() if k not in ("from", "to")}
            for n in range((final - first).days + 1):
                shown[first + timedelta(days=n)] = values
    return shown


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_or_none(value: Any) -> int | None:
    return value if _is_int(value) else None


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) else None
