"""What the webhook gateway and the inbound poller must agree on for one Beds24 booking.

Both record bookings as inbound events; a booking the poller finds after its webhook was
stored (or the other way round) must get the SAME idempotency key, so it is one event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

ENTITY_TYPE = "booking"
CREATED = "beds24.booking.created"
MODIFIED = "beds24.booking.modified"
CANCELLED = "beds24.booking.cancelled"


def parse_beds24_time(value: str) -> datetime:
    """Beds24 writes `YYYY-MM-DDTHH:MM:SS`, sometimes with `Z`; both mean UTC.

    Raises ValueError for anything else."""
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def booking_event_key(property_id: UUID, booking: Mapping[str, Any]) -> str:
    """`beds24:<property>:booking:<id>:<modifiedTime as UTC ISO>`.

    Without a usable `modifiedTime`, a hash of the booking object stands in for it (not of
    the webhook envelope: its `timeStamp` and `retries` change when Beds24 resends)."""
    version: str
    try:
        version = parse_beds24_time(str(booking["modifiedTime"])).isoformat()
    except (KeyError, ValueError):
        canonical = json.dumps(booking, sort_keys=True, separators=(",", ":"), default=str)
        version = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    return f"beds24:{property_id}:booking:{booking['id']}:{version}"


def booking_event_type(status: str | None, *, known: bool) -> str:
    """Beds24 sends no event type: it follows from the status and whether the PMS already
    holds the booking."""
    if status == "cancelled":
        return CANCELLED
    return MODIFIED if known else CREATED
