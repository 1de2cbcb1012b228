"""Taking a webhook in: store each booking as an inbound `received` event (one transaction),
then publish the new ones and mark them `processing`. Duplicates (same idempotency key) are
neither stored nor published again.

Only the insert decides the answer: once it commits, Beds24 gets 200 even if publishing
fails, because the relay publishes whatever stays `received`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
from channel_sync.amqp.link import BrokerLink
from channel_sync.db import Connection
from channel_sync.events import ChannelEvent, Direction, NewChannelEvent
from channel_sync.inbound import ENTITY_TYPE, booking_event_key, booking_event_type
from channel_sync.repository import ChannelEventRepository

from webhook_gateway.errors import DATABASE_DOWN
from webhook_gateway.properties import reservations_by_booking

logger = logging.getLogger(__name__)
_events = ChannelEventRepository()


@dataclass(frozen=True)
class Item:
    """One booking notice to record: its external id, status, key and raw payload."""

    booking_id: int
    status: str | None
    idempotency_key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Policy:
    max_attempts: int
    publish_hold_s: float


def v2_item(property_id: UUID, raw: dict[str, Any], booking_id: int, status: str | None) -> Item:
    return Item(booking_id, status, booking_event_key(property_id, raw["booking"]), raw)


async def record(
    conn: Connection,
    property_id: UUID,
    items: list[Item],
    policy: Policy,
    correlation_id: str,
) -> tuple[list[ChannelEvent], int]:
    """Insert the items as events in one transaction; returns (new events, duplicates)."""
    stored: list[ChannelEvent] = []
    async with conn.transaction():
        known = await reservations_by_booking(conn, [i.booking_id for i in items])
        for item in items:
            event = await _events.create(
                conn,
                NewChannelEvent(
                    property_id=property_id,
                    direction=Direction.INBOUND,
                    event_type=booking_event_type(item.status, known=item.booking_id in known),
                    entity_type=ENTITY_TYPE,
                    entity_external_id=str(item.booking_id),
                    entity_internal_id=known.get(item.booking_id),
                    idempotency_key=item.idempotency_key,
                    payload=item.payload,
                    max_attempts=policy.max_attempts,
                    correlation_id=correlation_id,
                ),
                publish_after_s=policy.publish_hold_s,
            )
            if event is not None:
                stored.append(event)
    return stored, len(items) - len(stored)


async def publish(pool: asyncpg.Pool, broker: BrokerLink, events: list[ChannelEvent]) -> int:
    """Publish stored events; those the broker did not take go to the relay at once."""
    published = [e.id for e in events if await broker.try_publish(e)]
    left = [e.id for e in events if e.id not in published]
    try:
        async with pool.acquire() as conn:
            await _events.mark_published(conn, published)
            for event_id in left:
                await _events.defer_publish(conn, event_id)
    except DATABASE_DOWN as exc:  # stored already: the relay takes them after the hold
        logger.warning("could not update published events (%s)", exc.__class__.__name__)
    return len(published)
