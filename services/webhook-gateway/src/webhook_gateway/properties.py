"""What the gateway reads from the PMS: the property a webhook is for, and its secrets."""

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
