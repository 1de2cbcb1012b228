"""One stay as Beds24 and as the PMS hold it, and their differences (who wins them:
`inbound_worker.ownership`).

Compared here: dates, status (Beds24's read as the PMS status it becomes), Beds24 room
(type) and guest counts; the guest's fields are compared by `ownership.synced_differences`.
A count Beds24 leaves out (a webhook without personal data) is not compared.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from inbound_worker.booking import Booking


@dataclass(frozen=True)
class Stay:
    arrival: str
    departure: str
    status: str  # PMS status
    room: str | None  # Beds24 room (type) id
    adults: int | None
    children: int | None
    rooms: int = 1  # rooms the booking holds (`roomQty`; the PMS: its rooms not cancelled)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def beds24_stay(booking: Booking) -> Stay:
    return Stay(
        arrival=booking.arrival.isoformat(),
        departure=booking.departure.isoformat(),
        status=booking.status,
        room=None if booking.beds24_room_id is None else str(booking.beds24_room_id),
        adults=booking.columns.get("adults"),
        children=booking.columns.get("children"),
        rooms=booking.group.room_qty if booking.group is not None else 1,
    )


def differences(beds24: Stay, pms: Stay) -> list[str]:
    """The fields the two sides hold differently."""
    fields = ["arrival", "departure", "status", "room", "adults", "children", "rooms"]
    return [
        f
        for f in fields
        if getattr(beds24, f) != getattr(pms, f)
        and not (f in ("adults", "children") and getattr(beds24, f) is None)
    ]
