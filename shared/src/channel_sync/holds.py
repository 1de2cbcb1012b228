"""Inventory holds, as the PMS (its booking engine or front desk) places and ends them.

A hold takes one unit of a room type (or a given room) for some nights until it is
confirmed, released, or expires. While it lasts, the PMS's availability counts it
(`pms_availability.free_units`), so Beds24 stops selling that unit on every channel within
seconds; when it ends, the capture trigger records the availability change that gives the
unit back. Each call runs inside the caller's transaction (like `pms_changes`), so a hold
and the reservation it becomes commit together.

Rules:
- placing refuses, with the reason, a hold no unit is free for (a channel sold the last one
  meanwhile): never an overbooking by a hold;
- a hold leaves `held` once: confirmed (into a reservation, in the same transaction),
  released, or expired by the reaper; confirming after expiry is refused;
- the candidate PMS rooms are locked as the inbound worker locks them to place a channel
  booking (FOR NO KEY UPDATE, in id order), so a hold and a channel booking of the same
  rooms are decided one after the other, never both on the same last unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from channel_sync.db import Connection
from channel_sync.pms_availability import free_units
from channel_sync.pms_fields import FIELDS, Kind

# What a confirmed hold's reservation may be given beside its property, room and nights:
# the PMS's own reservation fields (the field map), its status and who made it.
_RESERVATION_COLUMNS = {
    f.column
    for f in FIELDS
    if f.outbound and f.kind not in (Kind.PLACEMENT, Kind.ID, Kind.GROUP, Kind.DATE)
}


class HoldRefused(Exception):
    """The hold cannot be placed or confirmed; the text says why (safe to show)."""


@dataclass(frozen=True)
class HoldTarget:
    """What a hold takes: a room type, or one room."""

    room_type_id: UUID | None = None
    room_id: UUID | None = None


def _require_transaction(conn: Connection) -> None:
    if not conn.is_in_transaction():
        raise RuntimeError("holds are placed and ended inside the PMS's own transaction")


async def _beds24_room(conn: Connection, property_id: UUID, target: HoldTarget) -> str:
    if target.room_id is not None:
        found = await conn.fetch(
            """SELECT beds24_room_id FROM channel_sync_room_map
               WHERE property_id = $1 AND room_id = $2 AND is_active""",
            property_id,
            target.room_id,
        )
    else:
        found = await conn.fetch(
            """SELECT DISTINCT m.beds24_room_id FROM channel_sync_room_map m
               JOIN rooms r ON r.id = m.room_id
               WHERE m.property_id = $1 AND r.room_type_id = $2 AND m.is_active""",
            property_id,
            target.room_type_id,
        )
    if not found:
        raise HoldRefused("nothing to hold: no active room of that kind is sold on Beds24")
    if len(found) > 1:
        raise HoldRefused(
            "the room type's rooms are sold as several Beds24 rooms: hold a given room"
        )
    room: str = found[0]["beds24_room_id"]
    return room


async def _lock_rooms(conn: Connection, property_id: UUID, beds24_room: str) -> list[UUID]:
    """The Beds24 room's PMS rooms, locked as a placement locks them (id order)."""
    rows = await conn.fetch(
        """SELECT r.id FROM rooms r
           WHERE r.id IN (SELECT room_id FROM channel_sync_room_map
                          WHERE property_id = $1 AND beds24_room_id = $2 AND is_active)
           ORDER BY r.id FOR NO KEY UPDATE""",
        property_id,
        beds24_room,
    )
    return [r["id"] for r in rows]


async def _room_taken(conn: Connection, room_id: UUID, arrival: date, departure: date) -> bool:
    taken: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM reservations
                          WHERE room_id = $1 AND channel_sync_occupies(status)
                            AND arrival < $3 AND departure > $2)
               OR EXISTS (SELECT 1 FROM inventory_holds
                          WHERE room_id = $1 AND status = 'held' AND expires_at > now()
                            AND arrival < $3 AND departure > $2)""",
        room_id,
        arrival,
        departure,
    )
    return taken


async def place_hold(
    conn: Connection,
    property_id: UUID,
    target: HoldTarget,
    *,
    arrival: date,
    departure: date,
    lasts: timedelta,
    reference: str,
    placed_by: str,
) -> UUID:
    """Hold one unit for the nights `arrival`..`departure` (exclusive) for `lasts`; its id.
    Raises HoldRefused when nothing is free (or the request makes no sense)."""
    _require_transaction(conn)
    if (target.room_type_id is None) == (target.room_id is None):
        raise HoldRefused("hold a room type or a room, not both and not neither")
    if departure <= arrival:
        raise HoldRefused("the departure must be after the arrival")
    if lasts <= timedelta(0):
        raise HoldRefused("a hold must last some time")
    if not reference.strip() or not placed_by.strip():
        raise HoldRefused("a hold names its reference and who placed it")
    beds24_room = await _beds24_room(conn, property_id, target)
    await _lock_rooms(conn, property_id, beds24_room)
    if target.room_id is not None and await _room_taken(conn, target.room_id, arrival, departure):
        raise HoldRefused("that room is taken on some of these nights")
    nights = [arrival + timedelta(days=n) for n in range((departure - arrival).days)]
    free = await free_units(conn, property_id, beds24_room, nights)
    full = [night for night in nights if free[night] < 1]
    if full:
        raise HoldRefused(f"no unit left on {full[0]} (sold meanwhile); nothing was held")
    hold_id: UUID = await conn.fetchval(
        """INSERT INTO inventory_holds (property_id, room_type_id, room_id, beds24_room_id,
               arrival, departure, expires_at, reference, placed_by)
           VALUES ($1, $2, $3, $4, $5, $6, now() + $7::interval, $8, $9) RETURNING id""",
        property_id,
        target.room_type_id,
        target.room_id,
        beds24_room,
        arrival,
        departure,
        lasts,
        reference[:200],
        placed_by[:200],
    )
    return hold_id


async def confirm_hold(conn: Connection, hold_id: UUID, **reservation: Any) -> UUID:
    """The hold becomes a reservation (its room: the held one, else a free one of its
    Beds24 room), in the caller's transaction; the reservation's id. `reservation` holds
    further `reservations` columns (guest names, adults...). Raises HoldRefused when the
    hold is not live (expired, released, confirmed) or no room is free."""
    _require_transaction(conn)
    hold = await conn.fetchrow("SELECT * FROM inventory_holds WHERE id = $1 FOR UPDATE", hold_id)
    if hold is None:
        raise HoldRefused(f"no hold {hold_id}")
    if hold["status"] != "held":
        raise HoldRefused(f"the hold is {hold['status']}, not held")
    expired: bool = await conn.fetchval("SELECT $1 <= now()", hold["expires_at"])
    if expired:
        raise HoldRefused("the hold expired before it was confirmed")
    rooms = await _lock_rooms(conn, hold["property_id"], hold["beds24_room_id"])
    if hold["room_id"] is not None:
        rooms = [hold["room_id"]]
    room = None
    for candidate in rooms:
        # The held room: only a reservation can be in the way. A room type's unit: also
        # another hold on that very room.
        taken = _reservation_in if hold["room_id"] is not None else _room_taken
        if not await taken(conn, candidate, hold["arrival"], hold["departure"]):
            room = candidate
            break
    if room is None:
        raise HoldRefused("no room is free for the hold's nights any more")
    unknown = sorted(set(reservation) - _RESERVATION_COLUMNS)
    if unknown:
        raise ValueError(f"not reservation columns a hold may set: {', '.join(unknown)}")
    columns = dict(reservation)
    names = ["property_id", "room_id", "arrival", "departure", *columns]
    values = [hold["property_id"], room, hold["arrival"], hold["departure"], *columns.values()]
    placeholders = ", ".join(f"${n + 1}" for n in range(len(values)))
    reservation_id: UUID = await conn.fetchval(
        f"INSERT INTO reservations ({', '.join(names)}) VALUES ({placeholders}) "  # noqa: S608
        "RETURNING id",  # names from _RESERVATION_COLUMNS only; values are parameters
        *values,
    )
    await conn.execute(
        """UPDATE inventory_holds SET status = 'confirmed', reservation_id = $2,
               ended_at = now() WHERE id = $1""",
        hold_id,
        reservation_id,
    )
    return reservation_id


async def _reservation_in(conn: Connection, room_id: UUID, arrival: date, departure: date) -> bool:
    taken: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM reservations
                          WHERE room_id = $1 AND channel_sync_occupies(status)
                            AND arrival < $3 AND departure > $2)""",
        room_id,
        arrival,
        departure,
    )
    return taken


async def release_hold(conn: Connection, hold_id: UUID) -> bool:
    """End a live hold (the guest left); False when it was not held any more."""
    _require_transaction(conn)
    result: str = await conn.execute(
        """UPDATE inventory_holds SET status = 'released', ended_at = now()
           WHERE id = $1 AND status = 'held'""",
        hold_id,
    )
    return result != "UPDATE 0"


async def expire_due(conn: Connection, *, limit: int = 500) -> int:
    """Mark up to `limit` holds past their expiry as expired (the reaper's round; rows
    another transaction holds are left for the next round, so replicas never wait on or
    double each other)."""
    result: str = await conn.execute(
        """UPDATE inventory_holds SET status = 'expired', ended_at = now()
           WHERE id IN (SELECT id FROM inventory_holds
                        WHERE status = 'held' AND expires_at <= now()
                        ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)""",
        limit,
    )
    return int(result.split()[-1])


async def overdue_s(conn: Connection) -> float:
    """Seconds the most overdue live hold is past its expiry (0: none): the reaper's lag."""
    age: float = await conn.fetchval(
        """SELECT coalesce(extract(epoch FROM now() - min(expires_at)), 0)::float8
           FROM inventory_holds WHERE status = 'held' AND expires_at <= now()"""
    )
    return age
