"""Multi-room stays going out: a PMS stay's rooms become ONE Beds24 booking group.

- Rooms of a stay not yet in Beds24 are created together: when a batch holds one of them,
  the others join it (`members`), and their creates go in ONE `POST /bookings` with
  `actions.makeGroup` on each (`chunked` never splits them, and never puts two new groups
  in one call: makeGroup joins every new booking of a call that sets it). With several new
  groups in one batch, `bookings` sends their first rooms as plain creates instead, then
  the other rooms by `masterId`: two calls, however many groups. The first booking made is
  the group's master; it is stored on the stay (`store_master`).
- A room added to a stay whose group exists in Beds24 is created with `masterId` (the
  stay's master, else its lowest Beds24 id: what a resolved lost answer leaves).
- Moving or cancelling one room is a modify of that room's booking only (as for any
  reservation); a lost answer is resolved for every member by the one bulk search of
  `unknown_creates`, since every member's create was noted before the call.
- One worker at a time sends a stay's rooms (`locks.stay_key`), so two batches cannot each
  make a group for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

import asyncpg
from channel_sync.db import Connection

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class StayMember:
    reservation_id: UUID
    property_id: UUID
    stay_id: UUID


async def members(conn: Connection, reservation_ids: list[UUID]) -> list[StayMember]:
    """The reservations among `reservation_ids` that are in a stay, and the other rooms of
    those stays that Beds24 does not hold yet (no Beds24 id, not cancelled)."""
    rows = await conn.fetch(
        """SELECT r.id, r.property_id, r.stay_id FROM reservations r
           WHERE r.stay_id IN (SELECT stay_id FROM reservations
                               WHERE id = ANY($1::uuid[]) AND stay_id IS NOT NULL)
             AND (r.id = ANY($1::uuid[])
                  OR (r.beds24_booking_id IS NULL AND r.beds24_qty_booking_id IS NULL
                      AND r.status <> 'cancelled'))""",
        reservation_ids,
    )
    return [StayMember(r["id"], r["property_id"], r["stay_id"]) for r in rows]


async def masters(conn: Connection, stay_ids: list[UUID]) -> dict[UUID, int | None]:
    """Each stay's Beds24 group master: the stored one, else its rooms' lowest Beds24 id
    (rooms adopted after a lost answer), else None (no room of it is in Beds24 yet)."""
    rows = await conn.fetch(
        """SELECT s.id, coalesce(s.beds24_master_id,
                    (SELECT min(r.beds24_booking_id) FROM reservations r
                     WHERE r.stay_id = s.id)) AS master
           FROM stays s WHERE s.id = ANY($1::uuid[])""",
        stay_ids,
    )
    return {r["id"]: r["master"] for r in rows}


async def store_master(conn: Connection, stay_id: UUID, booking_id: int) -> None:
    """The group's master, once Beds24 made it (a savepoint: a clash only logs)."""
    try:
        async with conn.transaction():
            await conn.execute(
                """UPDATE stays SET beds24_master_id = $2, updated_at = now()
                   WHERE id = $1 AND beds24_master_id IS NULL""",
                stay_id,
                booking_id,
            )
    except asyncpg.UniqueViolationError:
        logger.warning(
            "stay %s: Beds24 booking %s already leads another stay's group", stay_id, booking_id
        )


def chunked(
    sends: Sequence[T],
    size: int,
    *,
    weight: Callable[[T], int],
    group: Callable[[T], UUID | None],
    max_bytes: int,
) -> list[list[T]]:
    """Runs of at most `size` items and `max_bytes` of `weight`, as `outcomes.chunks`, but a
    new group's items stay in one run and a run holds at most one new group."""
    units: list[list[T]] = []
    by_group: dict[UUID, list[T]] = {}
    for send in sends:
        key = group(send)
        if key is None:
            units.append([send])
        elif key in by_group:
            by_group[key].append(send)
        else:
            by_group[key] = [send]
            units.append(by_group[key])
    runs: list[list[T]] = []
    current: list[T] = []
    used, has_group = 0, False
    for unit in units:
        grouped = group(unit[0]) is not None
        cost = sum(weight(s) for s in unit)
        full = len(current) + len(unit) > size or used + cost > max_bytes
        if current and (full or (grouped and has_group)):
            runs.append(current)
            current, used, has_group = [], 0, False
        current.extend(unit)
        used += cost
        has_group = has_group or grouped
    if current:
        runs.append(current)
    return runs
