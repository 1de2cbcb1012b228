"""SQL on PMS reservations, by Beds24 booking id. Runs inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from channel_sync.db import Connection

from inbound_worker.mapping import Placement

# The only columns written from a booking; column names are never taken from input.
WRITABLE = frozenset(
    {
        "status",
        "arrival",
        "departure",
        "beds24_booking_id",
        "beds24_modified_time",
        "guest_title",
        "guest_first_name",
        "guest_last_name",
        "guest_email",
        "guest_phone",
        "guest_mobile",
        "guest_address",
        "guest_city",
        "guest_postcode",
        "guest_country",
        "comments",
        "notes",
        "channel",
        "channel_reference",
        "adults",
        "children",
        "price",
        "deposit",
    }
)


@dataclass(frozen=True)
class Stored:
    id: UUID
    property_id: UUID
    room_id: UUID | None
    modified_time: datetime | None


async def lock_booking(conn: Connection, booking_id: int) -> None:
    """Serialise work on one Beds24 booking until the transaction ends, so two versions
    applied at once cannot both find "no reservation yet" or overtake each other."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('beds24-booking:' || $1::bigint::text, 0))",
        booking_id,
    )


async def find(conn: Connection, booking_id: int) -> Stored | None:
    record = await conn.fetchrow(
        """SELECT id, property_id, room_id, beds24_modified_time FROM reservations
           WHERE beds24_booking_id = $1 FOR UPDATE""",
        booking_id,
    )
    if record is None:
        return None
    return Stored(
        record["id"], record["property_id"], record["room_id"], record["beds24_modified_time"]
    )


async def insert(
    conn: Connection, property_id: UUID, columns: dict[str, Any], placement: Placement
) -> UUID:
    values = _with_placement(columns, placement)
    values["property_id"] = property_id
    names = list(values)
    reservation_id: UUID = await conn.fetchval(
        f"""INSERT INTO reservations ({", ".join(names)})
            VALUES ({", ".join(f"${i}" for i in range(1, len(names) + 1))})
            RETURNING id""",  # noqa: S608 - names come from WRITABLE, values are parameters
        *values.values(),
    )
    return reservation_id


async def update(
    conn: Connection, reservation_id: UUID, columns: dict[str, Any], placement: Placement
) -> None:
    values = _with_placement(columns, placement)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=2))
    await conn.execute(
        f"UPDATE reservations SET {assignments}, updated_at = now() WHERE id = $1",  # noqa: S608
        reservation_id,
        *values.values(),
    )


def _with_placement(columns: dict[str, Any], placement: Placement) -> dict[str, Any]:
    unknown = set(columns) - WRITABLE
    if unknown:
        raise ValueError(f"not a writable reservation column: {sorted(unknown)}")
    return {
        **columns,
        "room_id": placement.room_id,
        "needs_attention": placement.attention is not None,
        "attention_reason": placement.attention,
    }
