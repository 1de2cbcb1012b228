"""Our own reference on the Beds24 bookings the outbound worker creates.

Beds24 honours no idempotency key, so the reservation id travels with the booking as
`pms-<reservation uuid>`: the outbound worker searches by it after a create whose answer was
lost, and the inbound worker uses it to recognise a booking we created before its Beds24 id
is stored. Whether Beds24 keeps `apiReference` on API writes is unconfirmed (docs/beds24.md), so
a create carries the reference twice: as `apiReference` and as the info item
`{code: REFERENCE_INFO_CODE, text: reference}`. Parsing is strict: anything else is not ours.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

_PREFIX = "pms-"
_OURS = re.compile(r"pms-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
# The info item code carrying our reference (Beds24 info item codes are free text).
REFERENCE_INFO_CODE = "PMSREF"


def reservation_reference(reservation_id: UUID) -> str:
    """The apiReference for a reservation's booking (at most 100 characters)."""
    return f"{_PREFIX}{reservation_id}"


def reference_info_item(reservation_id: UUID) -> dict[str, str]:
    """The info item a create carries: sent on creates only, as each write of an info item
    without its Beds24 id adds another one."""
    return {"code": REFERENCE_INFO_CODE, "text": reservation_reference(reservation_id)}


def reservation_of_reference(value: Any) -> UUID | None:
    """The reservation id in one of our references; None for any other or malformed value."""
    match = _OURS.fullmatch(value) if isinstance(value, str) else None
    return UUID(match.group(1)) if match else None


def reservation_of_info_items(items: Any) -> UUID | None:
    """The reservation named by our info item among a booking's `infoItems`; None when no
    item carries our code, or the items carrying it name different reservations."""
    named = {
        reservation_of_reference(item.get("text"))
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict) and item.get("code") == REFERENCE_INFO_CODE
    }
    return named.pop() if len(named) == 1 else None
