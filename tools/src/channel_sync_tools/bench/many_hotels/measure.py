"""What the many-hotels run reports: per account, seconds from a change to Beds24 and from
a webhook to the PMS (from the events' own times), credits spent and refused, Beds24 calls
by kind, the Postgres connections the services held at their peak, and whether Beds24
equals the PMS for every property (read through the sandbox's control API: no credits)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
from channel_sync_testing.pms_changes import SLOT_DAYS
from channel_sync_testing.waiting import sampled_while
from channel_sync_tools.api import StackApi
from channel_sync_tools.bench.many_hotels.world import FIRST_NIGHT, SLOTS, Site, World

BENCH_APPLICATION = "bench"  # our own connections' application_name, left out of the count


@dataclass
class Peaks:
    connections: int = 0  # the services' connections to the database, all together
    listening: int = 0  # of which LISTEN connections (straight to Postgres)
    samples: int = 0


@contextlib.asynccontextmanager
async def connection_peaks(admin_dsn: str, database: str) -> AsyncIterator[Peaks]:
    """The most connections Postgres held for `database` at once, ours left out, sampled
    every 100 ms while the block runs."""
    peaks = Peaks()
    conn = await asyncpg.connect(admin_dsn, server_settings={"application_name": BENCH_APPLICATION})

    async def sample() -> None:
        row = await conn.fetchrow(
            """SELECT count(*) AS n, count(*) FILTER (WHERE query LIKE 'LISTEN %') AS listening
               FROM pg_stat_activity
               WHERE datname = $1 AND backend_type = 'client backend'
                 AND application_name <> $2""",
            database,
            BENCH_APPLICATION,
        )
        assert row is not None
        if row["n"] > peaks.connections:
            peaks.connections, peaks.listening = row["n"], row["listening"]
        peaks.samples += 1

    try:
        async with sampled_while(sample, 0.1):
            yield peaks
    finally:
        await conn.close()


@dataclass(frozen=True)
class Delays:
    """Seconds from an event's arrival to its being done, per account."""

    count: int
    p50: float
    p99: float
    worst: float


async def delays(db: asyncpg.Pool, direction: str, since: datetime) -> dict[int, Delays]:
    rows = await db.fetch(
        """SELECT b.account_id, count(*) AS n,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS p50,
                  percentile_cont(0.99) WITHIN GROUP (ORDER BY s) AS p99, max(s) AS worst
           FROM (SELECT property_id,
                        extract(epoch FROM processed_at - received_at)::float8 AS s
                 FROM channel_events
                 WHERE direction = $1 AND received_at >= $2 AND status = 'done'
                   -- what a poll found is not a change's delay but the safety net's
                   AND coalesce(payload->>'source', '') <> 'poll') e
           JOIN beds24_properties b USING (property_id)
           GROUP BY b.account_id""",
        direction,
        since,
    )
    return {int(r["account_id"]): Delays(r["n"], r["p50"], r["p99"], r["worst"]) for r in rows}


async def not_done(db: asyncpg.Pool, since: datetime) -> dict[str, int]:
    rows = await db.fetch(
        "SELECT status, count(*) AS n FROM channel_events WHERE received_at >= $1 "
        "AND status <> 'done' GROUP BY status",
        since,
    )
    return {r["status"]: r["n"] for r in rows}


def call_kind(call: dict[str, Any]) -> str:
    method, path = call["method"], call["path"]
    known = {
        ("POST", "/bookings"): "bookings write",
        ("GET", "/bookings"): "bookings read",
        ("POST", "/inventory/rooms/calendar"): "calendar write",
        ("GET", "/inventory/rooms/calendar"): "calendar read",
        ("GET", "/authentication/token"): "token",
    }
    return known.get((method, path), f"{method} {path}")


@dataclass
class Spend:
    credits: dict[int, float] = field(default_factory=dict)  # per account
    refused: dict[int, int] = field(default_factory=dict)
    calls: dict[int, int] = field(default_factory=dict)
    by_kind: Counter[str] = field(default_factory=Counter)
    credits_by_kind: dict[str, float] = field(default_factory=dict)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


async def spend(api: StackApi, world: World) -> Spend:
    """Every account's Beds24 calls and credits since the calls log was cleared."""
    found = Spend()
    for call in await api.sandbox.calls():
        account = call.get("account_id")
        if account is None:
            continue
        found.calls[account] = found.calls.get(account, 0) + 1
        found.credits[account] = found.credits.get(account, 0.0) + float(call.get("cost") or 0)
        kind = call_kind(call)
        found.by_kind[kind] += 1
        found.credits_by_kind[kind] = found.credits_by_kind.get(kind, 0.0) + float(
            call.get("cost") or 0
        )
    for account in world.accounts:
        view = await api.sandbox.credits(account.account_id)
        found.refused[account.account_id] = int(view["refused"])
    return found


# -- Beds24 against the PMS --------------------------------------------------------------------
async def differences(api: StackApi, db: asyncpg.Pool, world: World) -> list[str]:
    """Every property: each PMS reservation in Beds24 once with its dates, room and whether
    it is cancelled; each live Beds24 booking in the PMS; each room-night's availability."""
    gate = asyncio.Semaphore(16)

    async def of_site(site: Site) -> list[str]:
        async with gate:
            return await _site_differences(api, db, site)

    found = await asyncio.gather(*(of_site(site) for site in world.sites))
    return [line for lines in found for line in lines]


async def _site_differences(api: StackApi, db: asyncpg.Pool, site: Site) -> list[str]:
    hotel = site.hotel
    name = hotel.name
    room_of = dict(hotel.room_units())
    bookings = {int(b["id"]): b for b in await api.sandbox.bookings(hotel.beds24.id)}
    rows = await db.fetch(
        "SELECT id, room_id, arrival, departure, status, beds24_booking_id, beds24_room_id "
        "FROM reservations "
        "WHERE property_id = $1",
        hotel.property_id,
    )
    wrong: list[str] = []
    held: set[int] = set()
    for row in rows:
        cancelled = row["status"] == "cancelled"
        booking_id = row["beds24_booking_id"]
        if booking_id is None:
            if not cancelled:
                wrong.append(f"{name}: reservation {row['id']} never reached Beds24")
            continue
        held.add(booking_id)
        booking = bookings.get(booking_id)
        if booking is None:
            wrong.append(f"{name}: reservation {row['id']}'s booking {booking_id} is not in Beds24")
            continue
        # A cancelled stay holds no room (one cancelled before the PMS saw it never had one).
        mine = (
            str(row["arrival"]),
            str(row["departure"]),
            None if cancelled else room_of.get(row["room_id"]),
            cancelled,
        )
        theirs = (
            booking["arrival"],
            booking["departure"],
            None if booking["status"] == "cancelled" else booking["roomId"],
            booking["status"] == "cancelled",
        )
        if mine != theirs:
            wrong.append(f"{name}: {row['id']} PMS {mine} vs Beds24 {theirs}")
    for booking_id, booking in bookings.items():
        if booking_id not in held and booking["status"] != "cancelled":
            wrong.append(f"{name}: Beds24 booking {booking_id} is not in the PMS")
    return wrong + await _nights_differing(api, site, rows)


async def _nights_differing(api: StackApi, site: Site, rows: list[asyncpg.Record]) -> list[str]:
    hotel = site.hotel
    room_of = dict(hotel.room_units())
    first, last = FIRST_NIGHT, FIRST_NIGHT + timedelta(days=SLOTS * SLOT_DAYS - 1)
    taken: Counter[tuple[int, date]] = Counter()
    for row in rows:
        if row["status"] == "cancelled":
            continue
        night = row["arrival"]
        while night < row["departure"]:
            # One waiting for a room still takes a unit of its Beds24 room.
            room = room_of.get(row["room_id"]) or int(row["beds24_room_id"])
            taken[room, night] += 1
            night += timedelta(days=1)
    wrong = []
    for kind, rooms in hotel.pms.rooms.items():
        room = hotel.beds24_rooms[kind]
        for day in await api.sandbox.calendar(hotel.beds24.id, room, first, last):
            night = date.fromisoformat(day["date"])
            free = len(rooms) - taken[room, night]
            if day.get("numAvail") != free:
                wrong.append(
                    f"{hotel.name}: {kind} {night} Beds24 {day.get('numAvail')} vs PMS {free}"
                )
    return wrong
