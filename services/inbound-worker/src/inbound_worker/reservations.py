"""SQL on PMS reservations, by Beds24 booking id (or, for bookings our outbound worker made,
by reservation id). Runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from channel_sync.db import Connection, Record
from channel_sync.pms_fields import INBOUND_COLUMNS, MONEY_FIELDS

from inbound_worker.booking import Booking
from inbound_worker.placement import Placement

# The only columns written from a booking (channel_sync.pms_fields); column names are never
# taken from input.
WRITABLE = INBOUND_COLUMNS
MONEY_COLUMNS = frozenset(f.column for f in MONEY_FIELDS)


@dataclass(frozen=True)
class Stored:
    id: UUID
    property_id: UUID
    room_id: UUID | None
    modified_time: datetime | None
    beds24_booking_id: int | None
    pushed_at: datetime | None = None  # when our last booking write to Beds24 succeeded


async def lock_booking(conn: Connection, booking_id: int) -> None:
    """Serialise work on one Beds24 booking until the transaction ends, so two versions
    applied at once cannot both find "no reservation yet" or overtake each other."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('beds24-booking:' || $1::bigint::text, 0))",
        booking_id,
    )


async def find(conn: Connection, booking_id: int) -> Stored | None:
    return _stored(
        await conn.fetchrow(
            """SELECT id, property_id, room_id, beds24_modified_time, beds24_booking_id,
                      beds24_pushed_at
               FROM reservations WHERE beds24_booking_id = $1 FOR UPDATE""",
            booking_id,
        )
    )


async def find_by_id(conn: Connection, reservation_id: UUID) -> Stored | None:
    """The reservation, row-locked: a concurrent store of its Beds24 id waits, or is seen."""
    return _stored(
        await conn.fetchrow(
            """SELECT id, property_id, room_id, beds24_modified_time, beds24_booking_id,
                      beds24_pushed_at
               FROM reservations WHERE id = $1 FOR UPDATE""",
            reservation_id,
        )
    )


async def link(conn: Connection, reservation_id: UUID, booking_id: int) -> None:
    """Give a reservation without one its Beds24 id, and drop the outbound worker's note of a
    create whose outcome was unknown: the booking that create made is now known."""
    await conn.execute(
        """UPDATE reservations SET beds24_booking_id = $2
           WHERE id = $1 AND beds24_booking_id IS NULL""",
        reservation_id,
        booking_id,
    )
    await conn.execute(
        "DELETE FROM beds24_pending_creates WHERE reservation_id = $1", reservation_id
    )


def _stored(record: Record | None) -> Stored | None:
    if record is None:
        return None
    return Stored(
        record["id"],
        record["property_id"],
        record["room_id"],
        record["beds24_modified_time"],
        record["beds24_booking_id"],
        record["beds24_pushed_at"],
    )


async def insert(
    conn: Connection, property_id: UUID, columns: dict[str, Any], placement: Placement
) -> UUID:
    values = _with_placement(columns, placement)
    values["property_id"] = property_id
    values["made_by"] = "beds24"  # imported from Beds24: a channel or Beds24 made it
    names = list(values)
    reservation_id: UUID = await conn.fetchval(
        f"""INSERT INTO reservations ({", ".join(names)})
            VALUES ({", ".join(f"${i}" for i in range(1, len(names) + 1))})
            RETURNING id""",  # noqa: S608 - names from WRITABLE (and made_by), values are parameters
        *values.values(),
    )
    return reservation_id


async def insert_many(
    conn: Connection, rows: Sequence[tuple[UUID, dict[str, Any], Placement]]
) -> list[UUID]:
    """`insert` for many bookings (property, columns, placement), in their order: one
    pipelined statement per set of columns (bookings from one source carry the same set)."""
    ids = [uuid4() for _ in rows]
    by_names: dict[tuple[str, ...], list[list[Any]]] = {}
    for reservation_id, (property_id, columns, placement) in zip(ids, rows, strict=True):
        values = _with_placement(columns, placement)
        values.update(id=reservation_id, property_id=property_id, made_by="beds24")
        by_names.setdefault(tuple(values), []).append(list(values.values()))
    for names, args in by_names.items():
        await conn.executemany(
            f"""INSERT INTO reservations ({", ".join(names)})
                VALUES ({", ".join(f"${i}" for i in range(1, len(names) + 1))})""",  # noqa: S608 - names from WRITABLE (and ours)
            args,
        )
    return ids


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


async def fill(conn: Connection, reservation_id: UUID, columns: dict[str, Any]) -> None:
    """Write only these columns (no placement)."""
    unknown = set(columns) - WRITABLE
    if unknown:
        raise ValueError(f"not a writable reservation column: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(columns, start=2))
    await conn.execute(
        f"UPDATE reservations SET {assignments}, updated_at = now() WHERE id = $1",  # noqa: S608
        reservation_id,
        *columns.values(),
    )


async def held_as_is(conn: Connection, bookings: Sequence[Booking]) -> set[int]:
    """The bookings the PMS holds with every value they carry (Beds24's version stamp
    aside), in a room: applied, they would change nothing. A stay of several rooms, a
    `roomQty` booking or a reservation waiting for a room never counts (applying may
    regroup or place it). For a booking the PMS made, what Beds24 adds to our own write
    counts as held (`_added_to_ours`)."""
    simple = {b.booking_id: b for b in bookings if b.group is None}
    if not simple:
        return set()
    columns = ", ".join(f"r.{c}" for c in sorted(WRITABLE | {"room_id", "beds24_qty_booking_id"}))
    rows = await conn.fetch(
        f"SELECT {columns}, r.id, r.made_by, m.beds24_room_id AS mapped_room "  # noqa: S608 - fixed names
        "FROM reservations r LEFT JOIN channel_sync_room_map m ON m.room_id = r.room_id "
        "WHERE r.beds24_booking_id = ANY($1::bigint[])",
        list(simple),
    )
    held = set()
    for row in rows:
        booking = simple[row["beds24_booking_id"]]
        if row["beds24_qty_booking_id"] is not None:
            continue
        if row["room_id"] is None and not booking.cancelled:
            continue
        if all(
            row[column] == value or _added_to_ours(row, column, value)
            for column, value in booking.columns.items()
            if column != "beds24_modified_time"
        ):
            held.add(booking.booking_id)
    return held


def _added_to_ours(row: Record, column: str, value: Any) -> bool:
    """What Beds24 puts on a booking we created where the PMS has nothing: its channel label,
    no money (0), the Beds24 room the PMS room maps to (our own reference as apiReference is
    never read as a channel's: `booking.read_booking`). Applying it would only copy these
    back."""
    if row["made_by"] != "pms" or row[column] is not None:
        return False
    if column == "channel":
        return True
    if column in MONEY_COLUMNS:
        return bool(value == 0)
    if column == "beds24_room_id":
        return value is not None and bool(value == row["mapped_room"])
    return False


async def holds(
    conn: Connection, reservation_id: UUID, columns: dict[str, Any], placement: Placement
) -> bool:
    """Whether the reservation already has exactly these values (and this placement)."""
    values = _with_placement(columns, placement)
    same = " AND ".join(f"{name} IS NOT DISTINCT FROM ${i}" for i, name in enumerate(values, 2))
    held: bool = await conn.fetchval(
        f"SELECT {same} FROM reservations WHERE id = $1",  # noqa: S608 - names from WRITABLE
        reservation_id,
        *values.values(),
    )
    return held


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
