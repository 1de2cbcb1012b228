"""Who owns a booking, and who wins when the PMS and Beds24 hold it differently.

Ownership is recorded when a reservation is made or matched (`reservations.made_by`): `pms`
for one made in the PMS, `beds24` for one a channel sold or that was typed into Beds24
(imported, or matched by the OTA's reservation code). A push never changes it.

The property's `sync_policy` decides every difference:

    beds24      Beds24 wins
    pms         the PMS wins
    by_origin   the owner wins: the PMS for `pms`, Beds24 for a channel's booking; a booking
                typed into Beds24's own screens (`direct`) has no clear owner: nobody wins
    flag        nobody wins

"Nobody" means an operator decides: both sides are kept as they are, and the difference is
recorded open (`drift_records`) and flagged on the reservation.

The fields compared are those the field map syncs both ways (`channel_sync.pms_fields`):
dates, status, guest counts, money and every guest field. A guest's personal values never
enter a drift record: the record says which fields differ, the two systems hold the values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from channel_sync import pms_fields

Side = Literal["beds24", "pms"]
POLICIES = ("by_origin", "beds24", "pms", "flag")

# Synced both ways and written from a booking (room placement is compared apart).
SYNCED_COLUMNS: tuple[str, ...] = tuple(
    f.column
    for f in pms_fields.FIELDS
    if f.outbound and f.kind not in (pms_fields.Kind.PLACEMENT, pms_fields.Kind.GROUP)
)
PERSONAL_COLUMNS = frozenset(f.column for f in pms_fields.FIELDS if f.personal)
# Shown in place of a guest's personal value in a drift record.
MASKED = "(differs)"


@dataclass(frozen=True)
class Conflict:
    """A Beds24 booking matched to a PMS reservation that holds it differently."""

    property_id: UUID
    reservation_id: UUID
    booking_id: int
    beds24_values: dict[str, Any]  # personal values masked
    pms_values: dict[str, Any]
    winner: Side | None  # None: an operator decides, both sides kept
    resolution: str  # the rule applied, or why nobody could


def winner(policy: str, *, made_by_pms: bool, channel: str | None) -> Side | None:
    """Who decides a booking held differently; None: nobody, an operator must."""
    if policy == "beds24":
        return "beds24"
    if policy == "pms":
        return "pms"
    if policy != "by_origin":
        return None
    if made_by_pms:
        return "pms"
    if channel and channel != "direct":
        return "beds24"
    return None


def made_by_pms(made_by: str | None, *, carries_our_reference: bool) -> bool:
    """The recorded owner; for a row older than the record, whether Beds24's booking carries
    our reference."""
    return made_by == "pms" if made_by is not None else carries_our_reference


def synced_differences(beds24: Mapping[str, Any], pms: Mapping[str, Any]) -> list[str]:
    """The synced columns Beds24's booking (`beds24`, as read into columns) and the PMS row
    both hold, differently: conflicts. A column one side leaves empty is a gap, not a
    conflict (`gaps`); one Beds24 left out (a webhook without personal data) is neither."""
    return [
        column
        for column in SYNCED_COLUMNS
        if column in beds24
        and _same(beds24[column]) is not None
        and _same(pms.get(column)) is not None
        and _same(beds24[column]) != _same(pms.get(column))
    ]


def gaps(beds24: Mapping[str, Any], pms: Mapping[str, Any]) -> dict[str, Any]:
    """What Beds24 holds that the PMS leaves empty: filled in whoever wins, so nothing
    either side knows is lost (a push of the PMS's state would otherwise empty it)."""
    return {
        column: beds24[column]
        for column in SYNCED_COLUMNS
        if column in beds24 and _same(beds24[column]) is not None and _same(pms.get(column)) is None
    }


def values_of(row: Mapping[str, Any], columns: list[str]) -> dict[str, Any]:
    """What a drift record keeps of one side: the values, a guest's personal ones masked."""
    return {c: MASKED if c in PERSONAL_COLUMNS else _json(row.get(c)) for c in columns}


def _same(value: Any) -> Any:
    if value == "":
        return None
    if isinstance(value, float | int) and not isinstance(value, bool):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    if isinstance(value, str):
        return value.strip()
    return value


def _json(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value
