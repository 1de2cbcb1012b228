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

    Raises ValueError for anything else, a time that is out of range once in UTC included
    (e.g. `9999-12-31T23:59:59-01:00`); the message never repeats the value."""
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError("not a Beds24 time (YYYY-MM-DDTHH:MM:SS, optionally Z)") from None


def booking_event_key(property_id: UUID, booking: Mapping[str, Any]) -> str:
    """`beds24:<property>:booking:<id>:<modifiedTime as UTC ISO>:<content hash>`.

    `modifiedTime` has whole seconds only: two versions saved in the same second (e.g. a
    change, then its cancellation) share it, so a short hash of the booking's content tells
    them apart, while an identical resend still gets the same key. Without a usable
    `modifiedTime`, a full hash of the content stands in for the version."""
    try:
        modified = parse_beds24_time(str(booking["modifiedTime"])).isoformat()
    except (KeyError, ValueError):
        return f"beds24:{property_id}:booking:{booking['id']}:sha256:{_content_hash(booking)}"
    return f"beds24:{property_id}:booking:{booking['id']}:{modified}:{_content_hash(booking)[:16]}"


# Left out of the content hash: `modifiedTime` is in the key already (normalised: with or
# without `Z` is one version); the item lists travel beside the booking in a webhook and
# only on request in GET /bookings, so one version would get two keys.
_NOT_CONTENT = frozenset({"modifiedTime", "infoItems", "invoiceItems"})


def _content_hash(booking: Mapping[str, Any]) -> str:
    """Of the booking object (never the webhook envelope: its `timeStamp` and `retries`
    change when Beds24 resends), as canonical JSON."""
    content = {k: v for k, v in booking.items() if k not in _NOT_CONTENT}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def booking_event_type(status: str | None, *, known: bool) -> str:
    """Beds24 sends no event type: it follows from the status and whether the PMS already
    holds the booking."""
    if status == "cancelled":
        return CANCELLED
    return MODIFIED if known else CREATED
