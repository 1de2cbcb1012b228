"""Channel events: the row model, its enums, and the message that points at a row."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class EventStatus(enum.StrEnum):
    RECEIVED = "received"  # committed, not yet published
    PROCESSING = "processing"  # published, or being worked on
    DONE = "done"  # effect applied, or found stale or duplicate
    FAILED = "failed"  # gave up; last_error says why


class ChannelEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    property_id: UUID
    direction: Direction
    event_type: str
    entity_type: str
    entity_external_id: str | None = None
    entity_internal_id: UUID | None = None
    idempotency_key: str
    payload: dict[str, Any] | list[Any]
    status: EventStatus
    attempts: int = 0
    max_attempts: int = 3
    last_error: str | None = None
    received_at: datetime
    processed_at: datetime | None = None
    next_attempt_at: datetime | None = None
    published_at: datetime | None = None
    correlation_id: str | None = None
    outcome_note: str | None = None
    updated_at: datetime | None = None


class NewChannelEvent(BaseModel):
    """What a producer knows when it records an event."""

    property_id: UUID
    direction: Direction
    event_type: str
    entity_type: str
    idempotency_key: str = Field(max_length=255)
    payload: dict[str, Any] | list[Any]
    entity_external_id: str | None = None
    entity_internal_id: UUID | None = None
    max_attempts: int = 3
    correlation_id: str | None = None


class EventMessage(BaseModel):
    """The AMQP body: a pointer to the row (the row is the source of truth) plus routing data."""

    event_id: UUID
    event_type: str
    direction: Direction
    property_id: UUID
    correlation_id: str | None = None

    @classmethod
    def for_event(cls, event: ChannelEvent) -> EventMessage:
        return cls(
            event_id=event.id,
            event_type=event.event_type,
            direction=event.direction,
            property_id=event.property_id,
            correlation_id=event.correlation_id,
        )

    @classmethod
    def for_new(cls, event: NewChannelEvent, event_id: UUID, event_type: str) -> EventMessage:
        """The message of an event just inserted (its id and type as the insert stored)."""
        return cls(
            event_id=event_id,
            event_type=event_type,
            direction=event.direction,
            property_id=event.property_id,
            correlation_id=event.correlation_id,
        )
