"""Live inventory holds of a property (`inventory_holds` with status held)."""

from __future__ import annotations

from uuid import UUID

from channel_sync.db import Connection

from admin_api.schemas.holds import Hold


async def live(conn: Connection, property_id: UUID, limit: int) -> tuple[list[Hold], int]:
    rows = await conn.fetch(
        """SELECT h.id, h.room_type_id, h.room_id,
                  coalesce(r.name, t.name, '') AS held, h.beds24_room_id, h.arrival,
                  h.departure, h.reference, h.placed_by, h.created_at, h.expires_at,
                  extract(epoch FROM now() - h.created_at)::float8 AS age_s,
                  extract(epoch FROM h.expires_at - now())::float8 AS expires_in_s
           FROM inventory_holds h
           LEFT JOIN rooms r ON r.id = h.room_id
           LEFT JOIN room_types t ON t.id = h.room_type_id
           WHERE h.property_id = $1 AND h.status = 'held'
           ORDER BY h.created_at, h.id LIMIT $2""",
        property_id,
        limit,
    )
    total: int = await conn.fetchval(
        "SELECT count(*) FROM inventory_holds WHERE property_id = $1 AND status = 'held'",
        property_id,
    )
    return [Hold.model_validate(dict(row)) for row in rows], total
