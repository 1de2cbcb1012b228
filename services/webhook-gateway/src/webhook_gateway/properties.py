"""What the gateway reads from the PMS: the target property and the bookings it holds."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from channel_sync.db import Connection


@dataclass(frozen=True)
class WebhookTarget:
    property_id: UUID
    beds24_property_id: int | None  # None until the property is linked to Beds24
    secret_digests: list[str]


async def load_target(conn: Connection, property_id: UUID) -> WebhookTarget | None:
    record = await conn.fetchrow(
        """
        SELECT b.beds24_property_id,
               array_remove(array_agg(s.secret_sha256), NULL) AS digests
        FROM hotel_settings h
        LEFT JOIN beds24_properties b ON b.property_id = h.id
        LEFT JOIN webhook_secrets s ON s.property_id = h.id AND s.revoked_at IS NULL
        WHERE h.id = $1
        GROUP BY h.id, b.beds24_property_id
        """,
        property_id,
    )
    if record is None:
        return None
    return WebhookTarget(property_id, record["beds24_property_id"], list(record["digests"]))


async def reservations_by_booking(conn: Connection, booking_ids: list[int]) -> dict[int, UUID]:
    """PMS reservation id per Beds24 booking id, for the bookings the PMS already holds."""
    records = await conn.fetch(
        """SELECT beds24_booking_id, id FROM reservations
           WHERE beds24_booking_id = ANY($1::bigint[])""",
        booking_ids,
    )
    return {r["beds24_booking_id"]: r["id"] for r in records}
