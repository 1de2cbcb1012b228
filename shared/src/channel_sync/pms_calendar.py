"""Prices and restrictions of a Beds24 room per night, as the PMS holds them now: what the
outbound worker sends to Beds24's calendar beside `numAvail`, and what a reconciliation
compares Beds24's calendar with. The one home of what each ARI column means in Beds24:

- `room_rates.price` of a rate plan mapped to a slot: that slot, `price1`..`price16`
  (`channel_mappings` 'rate_plan'); a night without a price: null (removed in Beds24);
- `room_restrictions.min_stay`: `minStay` (none: 1); `max_stay`: `maxStay` (none: null, the
  room's own, which Beds24 shows as 364 or more);
- `override`, one value for the three flags: `stop_sell` is blackout and wins over the
  others; `closed_to_arrival` with `closed_to_departure` is noCheckInOrCheckOut, alone
  noCheckIn or noCheckOut; none of them is none.

A property manages its rates and restrictions from the PMS once one of its rate plans is
mapped to a price slot; until then only `numAvail` is sent and nothing here is compared.
The PMS is the source: every value is sent as it is now (state transfer), and a Beds24 edit
of one is drift, repaired to the PMS's value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from channel_sync.db import Connection
from channel_sync.errors import PermanentError

PRICE_SLOTS = tuple(f"price{n}" for n in range(1, 17))
# A maximum stay Beds24 shows for "no maximum" (the room's own, 364 or 365 days).
NO_MAX_STAY_FROM = 364
FIELDS = ("minStay", "maxStay", "override")


@dataclass(frozen=True)
class Restriction:
    min_stay: int | None = None
    max_stay: int | None = None
    closed_to_arrival: bool = False
    closed_to_departure: bool = False
    stop_sell: bool = False

    @property
    def override(self) -> str:
        """Beds24's one `override` value; stop-sell wins over closed to arrival/departure."""
        if self.stop_sell:
            return "blackout"
        if self.closed_to_arrival and self.closed_to_departure:
            return "noCheckInOrCheckOut"
        if self.closed_to_arrival:
            return "noCheckIn"
        if self.closed_to_departure:
            return "noCheckOut"
        return "none"

    def beds24(self) -> dict[str, Any]:
        return {
            "minStay": self.min_stay or 1,
            "maxStay": self.max_stay,
            "override": self.override,
        }


def price_value(price: Decimal | None) -> float | int | None:
    """A price as Beds24's JSON number (whole prices as integers)."""
    if price is None:
        return None
    return int(price) if price == price.to_integral_value() else float(price)


async def price_slots(conn: Connection, property_id: UUID) -> dict[str, UUID]:
    """The property's mapped, active rate plans by price slot (empty: ARI not managed)."""
    rows = await conn.fetch(
        """SELECT m.external_id AS slot, p.id FROM channel_mappings m
           JOIN rate_plans p ON p.id = m.internal_id AND p.property_id = m.property_id
           WHERE m.property_id = $1 AND m.mapping_type = 'rate_plan'
             AND m.is_active IS NOT FALSE AND p.is_active""",
        property_id,
    )
    return {row["slot"]: row["id"] for row in rows}


async def unmapped_rate_plan(conn: Connection, rate_plan_id: UUID) -> str | None:
    """Why prices of this rate plan cannot be sent (None: they can, or it is switched off)."""
    row = await conn.fetchrow(
        """SELECT p.code, p.is_active, EXISTS (
                  SELECT 1 FROM channel_mappings m WHERE m.mapping_type = 'rate_plan'
                    AND m.internal_id = p.id AND m.property_id = p.property_id
                    AND m.is_active IS NOT FALSE) AS mapped
           FROM rate_plans p WHERE p.id = $1""",
        rate_plan_id,
    )
    if row is None or not row["is_active"] or row["mapped"]:
        return None
    return (
        f"rate plan {row['code']!r} ({rate_plan_id}) has no Beds24 price slot: map it "
        "(mapping_type 'rate_plan', external_id 'price1'..'price16') and retry"
    )


async def room_type_of(conn: Connection, property_id: UUID, beds24_room_id: str) -> UUID | None:
    """The PMS room type whose rooms a Beds24 room sells (prices and restrictions are kept
    per room type). Raises PermanentError when its rooms are of several types."""
    rows = await conn.fetch(
        """SELECT DISTINCT r.room_type_id FROM channel_sync_room_map m
           JOIN rooms r ON r.id = m.room_id
           WHERE m.property_id = $1 AND m.beds24_room_id = $2 AND m.is_active
             AND r.room_type_id IS NOT NULL""",
        property_id,
        beds24_room_id,
    )
    if len(rows) > 1:
        raise PermanentError(
            f"Beds24 room {beds24_room_id} sells PMS rooms of {len(rows)} room types: its "
            "prices and restrictions are ambiguous; map it to rooms of one room type"
        )
    return rows[0]["room_type_id"] if rows else None


async def calendar_values(
    conn: Connection, property_id: UUID, beds24_room_id: str, nights: list[date]
) -> dict[date, dict[str, Any]]:
    """Per night, the Beds24 calendar fields the PMS sets for this room beside `numAvail`
    (empty when the property does not manage rates and restrictions, or the room has no
    room type)."""
    slots = await price_slots(conn, property_id)
    if not slots:
        return {}
    room_type = await room_type_of(conn, property_id, beds24_room_id)
    if room_type is None:
        return {}
    prices = await conn.fetch(
        """SELECT rate_plan_id, night, price FROM room_rates
           WHERE room_type_id = $1 AND rate_plan_id = ANY($2::uuid[])
             AND night = ANY($3::date[])""",
        room_type,
        list(slots.values()),
        nights,
    )
    priced = {(row["rate_plan_id"], row["night"]): row["price"] for row in prices}
    rules = await conn.fetch(
        """SELECT night, min_stay, max_stay, closed_to_arrival, closed_to_departure, stop_sell
           FROM room_restrictions WHERE room_type_id = $1 AND night = ANY($2::date[])""",
        room_type,
        nights,
    )
    restricted = {
        row["night"]: Restriction(**{k: v for k, v in row.items() if k != "night"}) for row in rules
    }
    values: dict[date, dict[str, Any]] = {}
    for night in nights:
        day = {slot: price_value(priced.get((plan, night))) for slot, plan in sorted(slots.items())}
        day.update(restricted.get(night, Restriction()).beds24())
        values[night] = day
    return values


def closed(values: dict[str, Any]) -> bool:
    """Whether Beds24 shows the night as 0 available whatever the free units (stop-sell)."""
    return values.get("override") == "blackout"


def unpriced(values: dict[str, Any]) -> bool:
    """No `price1` where the PMS sets that slot: Beds24 may show 0 available (it sells
    nothing without a price), so 0 there is not an availability difference."""
    return "price1" in values and values["price1"] is None


def differences(pms: dict[str, Any], beds24: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields of one night where Beds24's calendar (as GET shows it with the include
    flags) differs from the PMS's values: `{field: (beds24, pms)}`."""
    found: dict[str, tuple[Any, Any]] = {}
    for key, want in pms.items():
        have = beds24.get(key)
        if key in PRICE_SLOTS:
            same = (want is None and have is None) or (
                want is not None
                and isinstance(have, int | float)
                and abs(Decimal(str(have)) - Decimal(str(want))) < Decimal("0.005")
            )
        elif key == "maxStay" and want is None:
            same = have is None or (isinstance(have, int) and have >= NO_MAX_STAY_FROM)
        elif key == "override":
            same = (have or "none") == want
        else:
            same = have == want
        if not same:
            found[key] = (have, want)
    return found
