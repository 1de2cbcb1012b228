"""Reading the PMS as it is NOW (events are triggers; state wins), and the few writes back.

Every statement takes the caller's connection; none opens a transaction itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from channel_sync.db import Connection
from channel_sync.pms_availability import free_units
from channel_sync.pms_fields import GUEST_FIELDS
from channel_sync.pms_origin import mark_beds24_origin

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reservation:
    id: UUID
    property_id: UUID
    arrival: date
    departure: date
    status: str
    adults: int
    children: int
    beds24_booking_id: int | None
    beds24_property_id: int | None
    beds24_room_id: str | None  # None: the room is not mapped to Beds24
    beds24_unit_id: str | None
    guest: dict[str, str | None]
    price: Decimal | None
    deposit: Decimal | None
    comments: str | None
    notes: str | None
    stay_id: UUID | None = None  # the multi-room stay it is one room of
    # An extra room (2..roomQty) of this Beds24 booking, which its first room carries.
    qty_booking_id: int | None = None
    # Rooms of its Beds24 booking still held, when that booking has extra rooms.
    qty_rooms: int | None = None


GUEST_COLUMNS = tuple(f.column for f in GUEST_FIELDS)
_GUEST_SELECT = ", ".join(f"r.{column}" for column in GUEST_COLUMNS)


async def load_reservations(conn: Connection, ids: list[UUID]) -> dict[UUID, Reservation]:
    """The reservations that still exist, with their Beds24 room and property."""
    rows = await conn.fetch(
        f"""
        SELECT r.id, r.property_id, r.arrival, r.departure, r.status, r.adults, r.children,
               r.beds24_booking_id, r.price, r.deposit, r.comments, r.notes,
               {_GUEST_SELECT},
               b.beds24_property_id, m.beds24_room_id, m.beds24_unit_id,
               r.stay_id, r.beds24_qty_booking_id, q.rooms AS qty_rooms
        FROM reservations r
        LEFT JOIN LATERAL (
            SELECT count(*) FILTER (WHERE x.status <> 'cancelled') AS rooms
            FROM reservations x
            WHERE coalesce(r.beds24_booking_id, r.beds24_qty_booking_id)
                  IN (x.beds24_booking_id, x.beds24_qty_booking_id)
            HAVING count(*) FILTER (WHERE x.beds24_qty_booking_id IS NOT NULL) > 0
        ) q ON true
        LEFT JOIN beds24_properties b ON b.property_id = r.property_id
        LEFT JOIN channel_sync_room_map m ON m.room_id = r.room_id
        WHERE r.id = ANY($1::uuid[])
        """,  # noqa: S608 - the column names are pms_fields' constants
        ids,
    )
    return {
        row["id"]: Reservation(
            id=row["id"],
            property_id=row["property_id"],
            arrival=row["arrival"],
            departure=row["departure"],
            status=row["status"],
            adults=row["adults"],
            children=row["children"],
            beds24_booking_id=row["beds24_booking_id"],
            beds24_property_id=row["beds24_property_id"],
            beds24_room_id=row["beds24_room_id"],
            beds24_unit_id=row["beds24_unit_id"],
            guest={c: row[c] for c in GUEST_COLUMNS},
            price=row["price"],
            deposit=row["deposit"],
            comments=row["comments"],
            notes=row["notes"],
            stay_id=row["stay_id"],
            qty_booking_id=row["beds24_qty_booking_id"],
            qty_rooms=row["qty_rooms"],
        )
        for row in rows
    }


async def qty_rooms_held(conn: Connection, booking_ids: list[int]) -> dict[int, int]:
    """Rooms still held (not cancelled) of each roomQty booking: its first room (the
    reservation with that `beds24_booking_id`) and its rooms 2..n. Counted as
    `load_reservations` counts them for a room that still exists."""
    if not booking_ids:
        return {}
    rows = await conn.fetch(
        """SELECT b.id, count(x.id) FILTER (WHERE x.status <> 'cancelled') AS rooms
           FROM unnest($1::bigint[]) AS b(id)
           LEFT JOIN reservations x
             ON x.beds24_booking_id = b.id OR x.beds24_qty_booking_id = b.id
           GROUP BY b.id""",
        booking_ids,
    )
    return {row["id"]: row["rooms"] for row in rows}


async def availability(
    conn: Connection, property_id: UUID, beds24_room_id: str, nights: list[date]
) -> dict[date, int]:
    """Free units of a Beds24 room per night (`channel_sync.pms_availability`)."""
    return await free_units(conn, property_id, beds24_room_id, nights)


async def store_booking_id(conn: Connection, reservation_id: UUID, booking_id: int) -> bool:
    """Remember the Beds24 id; marked as Beds24's own write so it produces no event.

    False when the reservation no longer exists (deleted while its create was in flight):
    the caller then keeps the pending-create note, so the cancel its deletion queued finds
    the booking by reference. A reservation already linked to another Beds24 booking keeps
    its link (True): two Beds24 bookings carrying one reservation's reference need an
    operator, not a silent switch."""
    await mark_beds24_origin(conn)
    result = await conn.execute(
        """UPDATE reservations SET beds24_booking_id = $2
           WHERE id = $1 AND beds24_booking_id IS NULL""",
        reservation_id,
        booking_id,
    )
    if result != "UPDATE 0":
        return True
    row = await conn.fetchrow(
        "SELECT beds24_booking_id FROM reservations WHERE id = $1", reservation_id
    )
    if row is None:
        return False
    current = row["beds24_booking_id"]
    if current is not None and current != booking_id:
        logger.warning(
            "reservation %s stays linked to Beds24 booking %s; booking %s also carries "
            "its reference: check Beds24 for a duplicate",
            reservation_id,
            current,
            booking_id,
        )
    return True


async def mark_pushed(
    conn: Connection, reservation_id: UUID, sent_at: datetime, booking_id: int | None = None
) -> None:
    """Our booking write for it succeeded: the inbound worker takes Beds24 versions modified
    before `sent_at` as older than it. The time the write was SENT, not answered: a guest's
    change made in Beds24 while our answer travelled must not count as older. `booking_id`:
    the write was to this booking (an extra room's), whose first room is marked too."""
    await mark_beds24_origin(conn)
    await conn.execute(
        """UPDATE reservations SET beds24_pushed_at = GREATEST(beds24_pushed_at, $2)
           WHERE id = $1 OR beds24_booking_id = $3""",
        reservation_id,
        sent_at,
        booking_id,
    )
