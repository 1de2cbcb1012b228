"""What a dead letter is about, for an operator who must act on it: the property by name, the
booking by its Beds24 id and PMS reservation, the guest masked, the dates; or for
availability, prices and restrictions, the Beds24 room and nights. Read from the PMS
reservation when there is one, else from what the event carries (an inbound booking that
never became a reservation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from admin_api.console.masking import masked_name
from admin_api.queries.dead_letters import DeadLetterRow


@dataclass(frozen=True)
class BookingContext:
    beds24_booking_id: str | None
    reservation_id: UUID | None
    guest: str | None  # masked
    arrival: date | None
    departure: date | None
    beds24_room_id: str | None  # availability, prices and restrictions: the room they are for


def context_of(row: DeadLetterRow) -> BookingContext:
    event, reservation = row.event, row.reservation
    payload = event.payload if isinstance(event.payload, dict) else {}
    if event.entity_type != "booking":
        return BookingContext(
            beds24_booking_id=None,
            reservation_id=None,
            guest=None,
            arrival=_date(payload.get("from")),
            departure=_date(payload.get("to")),
            beds24_room_id=event.entity_external_id or _text(payload.get("beds24_room_id")),
        )
    booking = payload.get("booking") if isinstance(payload.get("booking"), dict) else {}
    assert isinstance(booking, dict)
    beds24_id = event.entity_external_id
    if beds24_id is None and reservation is not None and reservation.beds24_booking_id:
        beds24_id = str(reservation.beds24_booking_id)
    if reservation is not None:
        return BookingContext(
            beds24_booking_id=beds24_id,
            reservation_id=reservation.id,
            guest=masked_name(reservation.guest_first_name, reservation.guest_last_name),
            arrival=reservation.arrival,
            departure=reservation.departure,
            beds24_room_id=None,
        )
    return BookingContext(
        beds24_booking_id=beds24_id or _text(booking.get("id")),
        reservation_id=event.entity_internal_id,
        guest=masked_name(_text(booking.get("firstName")), _text(booking.get("lastName"))),
        arrival=_date(booking.get("arrival")),
        departure=_date(booking.get("departure")),
        beds24_room_id=None,
    )


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
