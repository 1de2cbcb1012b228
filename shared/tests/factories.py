"""Rows the shared tests need, inserted over a real connection."""

from __future__ import annotations

import uuid
from uuid import UUID

import asyncpg
from channel_sync.events import Direction, NewChannelEvent


async def insert_property(conn: asyncpg.Connection, name: str = "Test Hotel") -> UUID:
    value: UUID = await conn.fetchval(
        "INSERT INTO hotel_settings (name) VALUES ($1) RETURNING id", name
    )
    return value


def new_event(property_id: UUID, *, key: str | None = None, **overrides: object) -> NewChannelEvent:
    fields: dict[str, object] = {
        "property_id": property_id,
        "direction": Direction.INBOUND,
        "event_type": "beds24.booking.modified",
        "entity_type": "booking",
        "entity_external_id": "1001",
        "idempotency_key": key or f"test:{uuid.uuid4()}",
        "payload": {"booking": {"id": 1001}},
    }
    fields.update(overrides)
    return NewChannelEvent.model_validate(fields)
