"""One stay as Beds24 and as the PMS hold it, their differences, and who wins them.

Compared: dates, status (Beds24's read as the PMS status it becomes), Beds24 room (type) and
guest counts. A count Beds24 leaves out (a webhook without personal data) is not compared.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from inbound_worker.booking import Booking

Side = Literal["beds24", "pms"]
POLICIES = ("by_origin", "beds24", "pms", "flag")


@dataclass(frozen=True)
class Stay:
    arrival: str
    departure: str
    status: str  # PMS status
    room: str | None  # Beds24 room (type) id
    adults: int | None
    children: int | None

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
    )


def differences(beds24: Stay, pms: Stay) -> list[str]:
    """The fields the two sides hold differently."""
    fields = ["arrival", "departure", "status", "room", "adults", "children"]
    return [
        f
        for f in fields
        if getattr(beds24, f) != getattr(pms, f)
        and not (f in ("adults", "children") and getattr(beds24, f) is None)
    ]


def winner(policy: str, *, made_by_pms: bool, channel: str | None) -> Side | None:
    """Who decides a stay held differently; None: nobody, an operator must.

    `by_origin`: the PMS for bookings it made (they carry our reference), Beds24 for those
    a channel sold; a booking typed into Beds24's own screens (`direct`, no reference of
    ours) has no clear owner."""
    if policy == "beds24":
        return "beds24"
    if policy == "pms":
        return "pms"
    if policy != "by_origin":
        return None
    if made_by_pms:
        return "pms"
    if channel and channel != "direct":
        return "beds24"
    return None
