"""Our own reference on the Beds24 bookings the outbound worker creates.

Beds24 honours no idempotency key, so the reservation id travels in the booking's
`apiReference` as `pms-<reservation uuid>`: the outbound worker searches by it after a create
whose answer was lost, and the inbound worker uses it to recognise a booking we created
before its Beds24 id is stored. Parsing is strict: anything else is not ours.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

_PREFIX = "pms-"
_OURS = re.compile(r"pms-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def reservation_reference(reservation_id: UUID) -> str:
    """The apiReference for a reservation's booking (at most 100 characters)."""
    return f"{_PREFIX}{reservation_id}"


def reservation_of_reference(value: Any) -> UUID | None:
    """The reservation id in one of our references; None for any other or malformed value."""
    match = _OURS.fullmatch(value) if isinstance(value, str) else None
    return UUID(match.group(1)) if match else None
