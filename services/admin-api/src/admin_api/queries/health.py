"""Each property's health at a glance: when Beds24 last reached us and we last polled it,
the credits its account has left, its events waiting, its dead letters (failed, not
resolved), and its lag each way (the oldest event not yet done or failed, as the workers'
lag report exports it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from channel_sync.db import Connection

_HEALTH = """
    SELECT h.id AS property_id, h.name, b.beds24_property_id, b.account_id, b.poll_enabled,
           b.last_polled_at, c.remaining AS credits_left, c.resets_at AS credits_reset_at,
           (SELECT max(e.received_at) FROM channel_events e
            WHERE e.property_id = h.id AND e.direction = 'inbound'
              AND COALESCE(e.payload->>'source', '') <> 'poll') AS last_webhook_at,
           (SELECT count(*) FROM channel_events e
            WHERE e.property_id = h.id AND e.status IN ('received', 'processing')) AS waiting,
           (SELECT count(*) FROM channel_events e
            WHERE e.property_id = h.id AND e.status = 'failed'
              AND e.resolved_at IS NULL) AS failed,
           (SELECT min(e.received_at) FROM channel_events e
            WHERE e.property_id = h.id AND e.direction = 'inbound'
              AND e.status IN ('received', 'processing')) AS inbound_waiting_since,
           (SELECT min(e.received_at) FROM channel_events e
            WHERE e.property_id = h.id AND e.direction = 'outbound'
              AND e.status IN ('received', 'processing')) AS outbound_waiting_since
    FROM hotel_settings h
    LEFT JOIN beds24_properties b ON b.property_id = h.id
    LEFT JOIN beds24_credit_budgets c ON c.account_id = b.account_id
"""


@dataclass(frozen=True)
class PropertyHealth:
    property_id: UUID
    name: str
    beds24_property_id: int | None
    account_id: str | None
    poll_enabled: bool | None
    last_polled_at: datetime | None
    credits_left: Decimal | None
    credits_reset_at: datetime | None
    last_webhook_at: datetime | None
    waiting: int
    failed: int
    inbound_waiting_since: datetime | None
    outbound_waiting_since: datetime | None


async def list_health(conn: Connection, *, limit: int = 500) -> list[PropertyHealth]:
    records = await conn.fetch(_HEALTH + " ORDER BY h.name, h.id LIMIT $1", limit)
    return [PropertyHealth(**dict(r)) for r in records]


async def health_of(conn: Connection, property_id: UUID) -> PropertyHealth | None:
    record = await conn.fetchrow(_HEALTH + " WHERE h.id = $1", property_id)
    return None if record is None else PropertyHealth(**dict(record))
