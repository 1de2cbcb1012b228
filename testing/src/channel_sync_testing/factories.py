"""Rows every test directory may need, made the same way everywhere."""

from __future__ import annotations

import uuid
from uuid import UUID

from channel_sync.events import Direction, NewChannelEvent


def new_event(property_id: UUID, *, key: str | None = None, **overrides: object) -> NewChannelEvent:
    """An inbound booking event of the property; `overrides` replace any field."""
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
