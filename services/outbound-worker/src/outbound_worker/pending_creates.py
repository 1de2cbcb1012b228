"""Creates sent to Beds24 whose answer is not stored yet (table beds24_pending_creates).

Beds24 honours no idempotency key, so a create is noted (and committed) BEFORE it is sent;
the note goes when Beds24's id is stored. A note still present means an earlier attempt may
have created the booking: search Beds24 for the reference before creating again.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from channel_sync.db import Connection
from channel_sync.references import reservation_reference


async def pending(conn: Connection, reservation_ids: list[UUID]) -> dict[UUID, datetime]:
    """The noted reservations among `reservation_ids`, each with when its first unanswered
    create was noted (the booking, if made, was modified in Beds24 after that)."""
    rows = await conn.fetch(
        """SELECT reservation_id, started_at FROM beds24_pending_creates
           WHERE reservation_id = ANY($1::uuid[])""",
        reservation_ids,
    )
    return {row["reservation_id"]: row["started_at"] for row in rows}


async def note(conn: Connection, creates: list[tuple[UUID, UUID]]) -> None:
    """Note (reservation id, property id) pairs about to be created; commit before sending."""
    await conn.executemany(
        """INSERT INTO beds24_pending_creates (reservation_id, property_id, api_reference)
           VALUES ($1, $2, $3) ON CONFLICT (reservation_id) DO NOTHING""",
        [(res, prop, reservation_reference(res)) for res, prop in creates],
    )


async def resolved(conn: Connection, reservation_id: UUID) -> None:
    await conn.execute(
        "DELETE FROM beds24_pending_creates WHERE reservation_id = $1", reservation_id
    )


async def noted_of_properties(
    conn: Connection, property_ids: list[UUID]
) -> list[tuple[UUID, UUID]]:
    """(reservation id, property id) of every note of these PMS properties."""
    rows = await conn.fetch(
        """SELECT reservation_id, property_id FROM beds24_pending_creates
           WHERE property_id = ANY($1::uuid[])""",
        property_ids,
    )
    return [(row["reservation_id"], row["property_id"]) for row in rows]
