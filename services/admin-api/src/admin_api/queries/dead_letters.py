"""SQL for dead letters: failed events no operator has resolved, each with its property's
name and the PMS reservation it is about (found by the event's reservation id, or for a
booking by its Beds24 id); resolving them; and what the DLQ sweep and counts read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from channel_sync.db import Connection
from channel_sync.events import Direction

from admin_api.queries.events import ADMIN_COLUMNS, AdminEvent, Cursor, event_of

_E_COLUMNS = ", ".join(f"e.{c.strip()}" for c in ADMIN_COLUMNS.split(","))
_LISTING = f"""
    SELECT {_E_COLUMNS}, h.name AS property_name, r.id AS reservation_id,
           r.beds24_booking_id AS reservation_beds24_id, r.arrival, r.departure,
           r.guest_first_name, r.guest_last_name
    FROM channel_events e
    LEFT JOIN hotel_settings h ON h.id = e.property_id
    LEFT JOIN LATERAL (
        SELECT r.id, r.beds24_booking_id, r.arrival, r.departure, r.guest_first_name,
               r.guest_last_name
        FROM reservations r
        WHERE e.entity_type = 'booking'
          AND (r.id = e.entity_internal_id
               OR (e.entity_external_id ~ '^[0-9]{{1,18}}$'
                   AND r.property_id = e.property_id
                   AND r.beds24_booking_id = e.entity_external_id::bigint))
        ORDER BY (r.id = e.entity_internal_id) DESC NULLS LAST
        LIMIT 1
    ) r ON TRUE
    WHERE e.status = 'failed' AND e.resolved_at IS NULL
      AND ($1::uuid IS NULL OR e.property_id = $1)
      AND ($2::text IS NULL OR e.direction = $2)
"""  # noqa: S608 - constant columns; every value is a parameter


@dataclass(frozen=True)
class Reservation:
    id: UUID
    beds24_booking_id: int | None
    arrival: date
    departure: date
    guest_first_name: str | None
    guest_last_name: str | None


@dataclass(frozen=True)
class DeadLetterRow:
    event: AdminEvent
    property_name: str | None
    reservation: Reservation | None


async def list_page(
    conn: Connection,
    *,
    property_id: UUID | None,
    direction: Direction | None,
    limit: int,
    after: Cursor | None = None,
) -> tuple[list[DeadLetterRow], int]:
    """Newest first, keyset-paginated as the events listing is."""
    args: list[Any] = [property_id, None if direction is None else str(direction)]
    total: int = await conn.fetchval(
        """SELECT count(*) FROM channel_events
           WHERE status = 'failed' AND resolved_at IS NULL
             AND ($1::uuid IS NULL OR property_id = $1)
             AND ($2::text IS NULL OR direction = $2)""",
        *args,
    )
    where = ""
    if after is not None:
        args += [after.received_at, after.event_id]
        where = " AND (e.received_at, e.id) < ($3, $4)"
    args.append(limit)
    records = await conn.fetch(
        _LISTING + where + f" ORDER BY e.received_at DESC, e.id DESC LIMIT ${len(args)}",
        *args,
    )
    return [_row(r) for r in records], total


async def of_events(conn: Connection, event_ids: list[UUID]) -> list[DeadLetterRow]:
    """These events, if they are dead letters, newest first."""
    records = await conn.fetch(
        _LISTING + " AND e.id = ANY($3::uuid[]) ORDER BY e.received_at DESC, e.id DESC",
        None,
        None,
        event_ids,
    )
    return [_row(r) for r in records]


def _row(record: Any) -> DeadLetterRow:
    values = dict(record)
    reservation = None
    if values["reservation_id"] is not None:
        reservation = Reservation(
            id=values["reservation_id"],
            beds24_booking_id=values["reservation_beds24_id"],
            arrival=values["arrival"],
            departure=values["departure"],
            guest_first_name=values["guest_first_name"],
            guest_last_name=values["guest_last_name"],
        )
    return DeadLetterRow(event_of(values), values["property_name"], reservation)


async def resolve(
    conn: Connection, event_ids: list[UUID], *, resolved_by: str, note: str
) -> list[UUID]:
    """Mark these dead letters resolved (they stay `failed`, kept with who and why); answers
    the ids it resolved: events not failed, or resolved already, are left as they are."""
    rows = await conn.fetch(
        """UPDATE channel_events
           SET resolved_at = now(), resolved_by = $2, resolution_note = $3, updated_at = now()
           WHERE id = ANY($1::uuid[]) AND status = 'failed' AND resolved_at IS NULL
           RETURNING id""",
        event_ids,
        resolved_by,
        note,
    )
    return [r["id"] for r in rows]


async def ids_with_reason(conn: Connection, reason: str, *, limit: int) -> list[UUID]:
    rows = await conn.fetch(
        """SELECT id FROM channel_events
           WHERE status = 'failed' AND resolved_at IS NULL AND last_error = $1
           ORDER BY received_at LIMIT $2""",
        reason,
        limit,
    )
    return [r["id"] for r in rows]


async def unresolved_among(conn: Connection, event_ids: list[UUID]) -> set[UUID]:
    """Which of these events are still dead letters (the DLQ sweep keeps their messages)."""
    rows = await conn.fetch(
        """SELECT id FROM channel_events
           WHERE id = ANY($1::uuid[]) AND status = 'failed' AND resolved_at IS NULL""",
        event_ids,
    )
    return {r["id"] for r in rows}


async def count_by_direction(conn: Connection) -> dict[Direction, int]:
    rows = await conn.fetch(
        """SELECT direction, count(*) AS n FROM channel_events
           WHERE status = 'failed' AND resolved_at IS NULL GROUP BY direction"""
    )
    return {Direction(r["direction"]): int(r["n"]) for r in rows}
