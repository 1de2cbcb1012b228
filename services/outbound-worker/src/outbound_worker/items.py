"""PMS reservation → Beds24 booking item (the field mapping, nothing else)."""

from __future__ import annotations

from typing import Any

from channel_sync import pms_fields
from channel_sync.references import reference_info_item, reservation_reference

from outbound_worker.pms_state import Reservation

BOOKING_STATUS = {
    "confirmed": "confirmed",
    "tentative": "request",
    "inquiry": "inquiry",
    "blocked": "black",
    "cancelled": "cancelled",
}

# reservations column -> Beds24 field (channel_sync.pms_fields)
GUEST_FIELDS = {f.column: f.beds24 for f in pms_fields.GUEST_FIELDS}


class Unmappable(ValueError):
    """The reservation cannot be expressed as a Beds24 booking (say why, for operators)."""


def booking_item(res: Reservation, booking_id: int | None) -> dict[str, Any]:
    """The full booking: a create without `booking_id` (with our reference, as apiReference
    and as an info item), else a modify of that booking (leaving apiReference as it is).

    On a modify, a guest field emptied in the PMS is emptied in Beds24 too."""
    if res.beds24_property_id is None:
        raise Unmappable(f"reservation {res.id}: its property is not connected to Beds24")
    if res.beds24_room_id is None:
        raise Unmappable(
            f"reservation {res.id}: its room is not mapped to a Beds24 room "
            "(add a 'room' or 'room_type' channel mapping)"
        )
    item: dict[str, Any] = {
        "propertyId": res.beds24_property_id,
        "roomId": _beds24_int(res.beds24_room_id, "room", res),
        "arrival": res.arrival.isoformat(),
        "departure": res.departure.isoformat(),
        "status": BOOKING_STATUS[res.status],
        "numAdult": res.adults,
        "numChild": res.children,
    }
    if res.qty_rooms:  # a roomQty booking: the rooms it still holds
        item["roomQty"] = res.qty_rooms
    if res.beds24_unit_id:
        item["unitId"] = _beds24_int(res.beds24_unit_id, "unit", res)
    texts = {beds24: res.guest[column] for column, beds24 in GUEST_FIELDS.items()}
    texts.update(comments=res.comments, notes=res.notes)
    for name, value in texts.items():
        if value is not None:
            item[name] = value
        elif booking_id is not None:
            item[name] = ""
    for name, amount in (("price", res.price), ("deposit", res.deposit)):
        if amount is not None:
            item[name] = float(amount)
    if booking_id is not None:
        # A modify never writes apiReference: on a channel's booking it holds the OTA's
        # code, which must stay; our reference was set when (and if) we made the booking.
        item["id"] = booking_id
    else:  # our reference, and again where Beds24 surely keeps it (apiReference: unconfirmed)
        item["apiReference"] = reservation_reference(res.id)
        item["infoItems"] = [reference_info_item(res.id)]
    return item


def cancel_item(booking_id: int) -> dict[str, Any]:
    return {"id": booking_id, "status": "cancelled"}


def rooms_item(booking_id: int, rooms: int) -> dict[str, Any]:
    """A roomQty booking one of whose rooms changed in the PMS: the rooms it still holds
    (none left: cancelled). Its rooms share one booking, so only their count goes out."""
    return {"id": booking_id, "roomQty": rooms} if rooms > 0 else cancel_item(booking_id)


def _beds24_int(value: str, what: str, res: Reservation) -> int:
    try:
        return int(value)
    except ValueError:
        raise Unmappable(
            f"reservation {res.id}: Beds24 {what} id {value!r} in channel_mappings is not a number"
        ) from None
