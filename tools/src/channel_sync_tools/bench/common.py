"""What the benchmarks (and the soak) share: the hotels they book, PMS writers, percentiles,
CPU accounting, and comparing Beds24 with the PMS once everything has settled."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import psutil
from channel_sync_testing.pms_changes import SLOT_DAYS, change_sql

from channel_sync_tools.api import StackApi
from channel_sync_tools.calendar import nights_shown
from channel_sync_tools.onboarding import Hotel, RoomPlan
from channel_sync_tools.output import say

ADMIN_TOKEN = "bench-admin-token"  # noqa: S105 - a throwaway stack's token
WRITERS = int(os.environ.get("BENCH_WRITERS", "4"))
ROOMS = 60  # the rooms of a one-room-type bench hotel


def one_type(rooms: int = ROOMS) -> RoomPlan:
    """One room type, "Double", of `rooms` rooms."""
    return {"Double": [str(100 + i) for i in range(rooms)]}


def typed(room_types: int, rooms_each: int) -> RoomPlan:
    """`room_types` room types ("Type0", ...) of `rooms_each` rooms each."""
    kinds = [f"Type{t}" for t in range(room_types)]
    return {kind: [f"{kind}-{n}" for n in range(rooms_each)] for kind in kinds}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


# -- PMS writes -------------------------------------------------------------------------------
async def run_writers(
    dsn: str, count: int, writers: int, change: Callable[[asyncpg.Connection], Awaitable[object]]
) -> None:
    """`count` calls of `change`, shared by `writers` connections working at once (PMS users,
    each change its own transaction)."""
    pending = iter(range(count))

    async def writer() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            for _ in pending:
                await change(conn)
        finally:
            await conn.close()

    await asyncio.gather(*(writer() for _ in range(writers)))


async def book_slots(
    db: asyncpg.Connection, hotel: Hotel, count: int, guest: str
) -> dict[UUID, date]:
    """`count` reservations in one transaction (as an import would make them), room after
    room, each in a slot of SLOT_DAYS of its room from 30 days on; their slots."""
    rooms = hotel.rooms()
    first_slot = date.today() + timedelta(days=30)
    slots: dict[UUID, date] = {}
    async with db.transaction():
        for i in range(count):
            slot = first_slot + timedelta(days=SLOT_DAYS * (i // len(rooms)))
            reservation = await db.fetchval(
                "INSERT INTO reservations (property_id, room_id, arrival, departure, "
                "guest_first_name, guest_last_name, guest_email, adults) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, 2) RETURNING id",
                hotel.property_id,
                rooms[i % len(rooms)],
                slot,
                slot + timedelta(days=2),
                guest,
                f"{guest}{i}",
                f"{guest.lower()}@example.org",
            )
            slots[reservation] = slot
    return slots


async def change_one(
    conn: asyncpg.Connection, rng: random.Random, slots: dict[UUID, date], ids: list[UUID]
) -> None:
    reservation = rng.choice(ids)
    sql, args = change_sql(rng, slots[reservation])
    await conn.execute(sql, reservation, *args)


async def events_by_status(db: asyncpg.Connection, direction: str) -> dict[str, int]:
    rows = await db.fetch(
        "SELECT status, count(*) AS n FROM channel_events WHERE direction = $1 GROUP BY status",
        direction,
    )
    return {r["status"]: r["n"] for r in rows}


# -- CPU --------------------------------------------------------------------------------------
def cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each process still alive."""
    used: dict[int, float] = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        used[pid] = times.user + times.system
    return used


def cpu_since(before: dict[int, float], pids: Iterable[int]) -> float:
    """CPU seconds `pids` used since `before`; a process started since counts whole."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in cpu_seconds(pids).items())


def processes_named(name: str) -> list[int]:
    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == name]


# -- Beds24 against the PMS --------------------------------------------------------------------
async def compare(api: StackApi, db: asyncpg.Connection, hotel: Hotel) -> list[str]:
    """Beds24 against the PMS: every reservation (dates, room, status) and every room-night's
    availability (read through the API after the figures: it costs a few credits). Prints
    the verdict; returns the differences."""
    room_of = dict(hotel.room_units())
    units = {hotel.beds24_rooms[kind]: len(rooms) for kind, rooms in hotel.pms.rooms.items()}
    pms = await db.fetch(
        "SELECT id, room_id, arrival, departure, status, beds24_booking_id FROM reservations "
        "WHERE property_id = $1",
        hotel.property_id,
    )
    by_reference: dict[str, list[dict[str, Any]]] = {}
    for booking in await api.sandbox.bookings(hotel.beds24.id):
        # Our reference: apiReference, or our info item where it is dropped.
        references = {
            i.get("text") for i in booking.get("infoItems") or [] if i.get("code") == "PMSREF"
        }
        references.add(booking.get("apiReference"))
        for reference in references - {None}:
            by_reference.setdefault(reference, []).append(booking)
    wrong: list[str] = []
    for row in pms:
        bookings = by_reference.get(f"pms-{row['id']}", [])
        if row["beds24_booking_id"] is None:
            if bookings or row["status"] != "cancelled":
                wrong.append(f"{row['id']}: never sent, yet {row['status']} / {len(bookings)}")
            continue
        if len(bookings) != 1:
            wrong.append(f"{row['id']}: {len(bookings)} Beds24 bookings carry it")
            continue
        [b] = bookings
        mine = (str(row["arrival"]), str(row["departure"]), room_of[row["room_id"]])
        theirs = (b["arrival"], b["departure"], b["roomId"])
        if b["id"] != row["beds24_booking_id"] or mine != theirs or b["status"] != row["status"]:
            wrong.append(
                f"{row['id']}: PMS {mine} {row['status']} vs Beds24 {theirs} {b['status']}"
            )
    first = min(r["arrival"] for r in pms)
    last = max(r["departure"] for r in pms)
    nights = [first + timedelta(days=n) for n in range((last - first).days)]
    occupied: dict[tuple[int, date], int] = {}
    for row in pms:
        if row["status"] == "cancelled":
            continue
        night = row["arrival"]
        while night < row["departure"]:
            key = (room_of[row["room_id"]], night)
            occupied[key] = occupied.get(key, 0) + 1
            night += timedelta(days=1)
    async with api.beds24(hotel.refresh_token) as client:
        shown = await nights_shown(client, sorted(units), first, last)
    off = []
    for room, capacity in sorted(units.items()):
        for night in nights:
            free = capacity - occupied.get((room, night), 0)
            seen = shown.get((room, night), {}).get("numAvail")
            if seen != free:
                off.append(f"room {room} {night}: Beds24 {seen} vs PMS {free}")
    room_nights = len(nights) * len(units)
    say(
        f"    Beds24 equals the PMS: reservations {'yes' if not wrong else 'NO'} "
        f"({len(pms) - len(wrong)}/{len(pms)} equal), room-nights "
        f"{'yes' if not off else 'NO'} ({room_nights - len(off)}/{room_nights} equal)"
    )
    for line in (wrong + off)[:10]:
        say(f"      differs: {line}")
    return wrong + off
