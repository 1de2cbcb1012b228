"""What a webhook becomes: one Item per booking notice (its id, status, idempotency key and
raw payload), stored by the group committer (`group_commit`) as inbound `received` events.
Duplicates (same idempotency key) are neither stored nor published again.

Only the insert decides the answer: once it commits, Beds24 gets 200 even if publishing
fails, because the relay publishes whatever stays `received`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from channel_sync.inbound import booking_event_key


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
