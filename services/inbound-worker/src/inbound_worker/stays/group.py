"""Which multi-room stay a Beds24 booking belongs to, read from the booking alone.

Beds24 delivers one reservation of several rooms as a booking group (the bookings share a
`masterId`, the master's id; `bookingGroup {master, ids}` lists them when asked for) or as one
booking with `roomQty` > 1. Either way the stay is keyed by one Beds24 booking id: the
group's master, else the booking itself. A single booking of one room is in no stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from channel_sync.errors import PermanentError
from channel_sync.pms_limits import BIGINT_MAX

# More rooms than this in one booking is not a stay a hotel sells: refused as bad data.
MAX_ROOM_QTY = 100


@dataclass(frozen=True)
class Group:
    master_id: int  # the stay's key: the group's master booking, else the booking itself
    member_ids: tuple[int, ...]  # the group's bookings as Beds24 listed them (may be empty)
    room_qty: int  # rooms this one booking holds


def stay_group(raw: Mapping[str, Any], booking_id: int) -> Group | None:
    qty = _room_qty(raw, booking_id)
    listed = raw.get("bookingGroup")
    master: int | None = None
    members: tuple[int, ...] = ()
    if isinstance(listed, Mapping):
        master = _id(listed.get("master"))
        ids = listed.get("ids")
        if isinstance(ids, list):
            members = tuple(sorted({i for i in map(_id, ids) if i is not None}))
    if master is None:
        master = _id(raw.get("masterId"))
    if master is None and len(members) > 1:
        master = members[0]
    if master is None:
        if qty == 1:
            return None  # a single booking of one room: no stay
        master = booking_id
    return Group(master, members, qty)


def _room_qty(raw: Mapping[str, Any], booking_id: int) -> int:
    qty = raw.get("roomQty")
    if qty is None or qty == 0:
        return 1
    if isinstance(qty, bool) or not isinstance(qty, int) or not 0 < qty <= MAX_ROOM_QTY:
        raise PermanentError(
            f"Beds24 booking {booking_id}: roomQty is not a whole number from 1 to {MAX_ROOM_QTY}"
        )
    return qty


def _id(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= BIGINT_MAX:
        return None
    return value
