"""`make chaos`: the project's own fault run.

Both directions run under load through the Beds24 sandbox (guest bookings, changes and
cancellations whose webhooks come duplicated, late or not at all; PMS reservations written,
edited and cancelled; the booking engine's inventory holds placed, confirmed, released or
left to expire), while each service is SIGKILLed and started again, RabbitMQ is stopped
and started, and Postgres restarts. After each fault a probe booking goes each way and the
seconds until both arrive are the recovery time. Then everything settles and Beds24 is
compared with the PMS.

Prints: lost, doubled, duplicate in Beds24, differing, stuck, failed, availability
mismatches (live holds counted), holds confirmed after expiry, not reaped or ended twice,
and the recovery after each fault; exits 1 if any of lost, doubled, duplicate, stuck,
availability mismatches or the hold counts is not zero, or a recovery took longer than 30 s.

Postgres and RabbitMQ are PRIVATE instances on their own ports (CHAOS_PG_PORT,
CHAOS_AMQP_PORT), so the machine's servers are never stopped. Options: `--short` (one fault
of each kind, a smaller load: what `make test` runs), `--json PATH` (the summary as JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from channel_sync.beds24.client import Beds24Client
from channel_sync.db import DATABASE_ERRORS
from channel_sync.holds import HoldRefused, HoldTarget, confirm_hold, place_hold, release_hold
from channel_sync_testing.private_infra import PrivatePostgres, PrivateRabbitMQ
from stack import Ports, Stack, StackFailed, say, wait_until

ADMIN_TOKEN = "chaos-admin-token"  # noqa: S105 - a throwaway stack's token
ROOMS_PER_TYPE = 8
HORIZON_DAYS = 45  # the load books within this window; availability is compared over it
RECOVERY_LIMIT_S = 30.0
PROBE_TIMEOUT_S = 120.0
SERVICES = ("webhook-gateway", "inbound-worker", "outbound-worker", "admin-api")


@dataclass(frozen=True)
class Plan:
    properties: int
    min_load_s: float
    inbound_per_s: float
    outbound_per_s: float
    kills_per_service: int
    settle_timeout_s: float


FULL = Plan(3, 240, 8, 8, 2, 300)
SHORT = Plan(1, 30, 3, 3, 1, 180)


# -- the hotels ----------------------------------------------------------------------------
@dataclass
class Hotel:
    property_id: UUID
    beds24_property_id: int
    refresh_token: str
    guest_room: int  # Beds24 room (type) the guests book
    pms_room: int  # Beds24 room (type) the PMS's own reservations use
    pms_rooms: list[UUID]  # PMS rooms of that type
    pms_room_type: UUID  # their room type: what the booking engine's holds take
    # Nights booked per Beds24 room type, as the load generator planned them: it never
    # sells more than the type holds, so every booking has a PMS room.
    guest_nights: Counter[date] = field(default_factory=Counter)
    guest_bookings: dict[int, tuple[date, date]] = field(default_factory=dict)
    pms_stays: dict[UUID, tuple[UUID, date, date]] = field(default_factory=dict)
    # Probe bookings (recovery measurement) hold their rooms but the load never touches
    # them: a probe cancelled by the load before it synced would never arrive.
    probes: set[int | UUID] = field(default_factory=set)
    holds: set[UUID] = field(default_factory=set)  # placed and not ended by the load


async def onboard(http: httpx.AsyncClient, db: asyncpg.Connection, ports: Ports, n: int) -> Hotel:
    sandbox, admin = ports.url(ports.sandbox), ports.url(ports.admin)
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    limit = float(os.environ.get("CHAOS_CREDIT_LIMIT", "2000"))
    account = (
        await http.post(
            f"{sandbox}/_sandbox/accounts", json={"credit_limit": limit, "window_s": 300}
        )
    ).json()
    prop = (
        await http.post(
            f"{sandbox}/_sandbox/properties",
            json={
                "account_id": account["account_id"],
                "name": f"Chaos Hotel {n}",
                "rooms": [
                    {"name": "Double", "qty": ROOMS_PER_TYPE},
                    {"name": "Twin", "qty": ROOMS_PER_TYPE},
                ],
            },
        )
    ).json()
    registered = await http.post(
        f"{admin}/admin/properties",
        headers=auth,
        json={
            "name": f"Chaos Hotel {n}",
            "beds24_property_id": prop["id"],
            "invite_code": account["invite_code"],
        },
    )
    registered.raise_for_status()
    answer = registered.json()
    property_id = UUID(answer["property"]["property_id"])
    types = {}
    rooms: dict[str, list[UUID]] = {}
    for name in ("Double", "Twin"):
        types[name] = await db.fetchval(
            "INSERT INTO room_types (property_id, name) VALUES ($1, $2) RETURNING id",
            property_id,
            name,
        )
        rooms[name] = [
            await db.fetchval(
                "INSERT INTO rooms (property_id, room_type_id, name) VALUES ($1, $2, $3) "
                "RETURNING id",
                property_id,
                types[name],
                f"{name[0]}{100 + i}",
            )
            for i in range(ROOMS_PER_TYPE)
        ]
    mapped = await http.put(
        f"{admin}/admin/properties/{property_id}/mappings",
        headers=auth,
        json={
            "mappings": [
                {
                    "mapping_type": "room_type",
                    "internal_id": str(types[room["name"]]),
                    "external_id": str(room["id"]),
                }
                for room in prop["rooms"]
            ]
        },
    )
    mapped.raise_for_status()
    name, value = answer["webhook"]["custom_header"].split(":", 1)
    await http.patch(
        f"{sandbox}/_sandbox/properties/{prop['id']}",
        json={
            "webhook": {
                "urls": [answer["webhook"]["url"]],
                "custom_header": f"{name.strip()}: {value.strip()}",
                "version": "twoWithPersonalData",
            }
        },
    )
    by_name = {room["name"]: room["id"] for room in prop["rooms"]}
    return Hotel(
        property_id,
        prop["id"],
        account["refresh_token"],
        by_name["Double"],
        by_name["Twin"],
        rooms["Twin"],
        types["Twin"],
    )


# -- load ----------------------------------------------------------------------------------
@dataclass
class Load:
    inbound_changes: int = 0
    outbound_changes: int = 0
    pms_writes_refused: int = 0  # Postgres was down: the PMS could not write either
    sandbox_refused: int = 0
    groups: int = 0  # of the Beds24-side changes: multi-room OTA reservations
    stays: int = 0  # of the PMS changes: two-room stays
    holds_placed: int = 0  # inventory holds of the booking engine
    holds_refused: int = 0  # placing or confirming refused (nothing free, or expired)
    holds_confirmed: int = 0
    holds_released: int = 0


def _stay(rng: random.Random) -> tuple[date, date]:
    arrival = date.today() + timedelta(days=rng.randrange(1, HORIZON_DAYS - 5))
    return arrival, arrival + timedelta(days=rng.randrange(1, 4))


def _nights(stay: tuple[date, date]) -> list[date]:
    arrival, departure = stay
    return [arrival + timedelta(days=i) for i in range((departure - arrival).days)]


def _delivery(rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.08:
        return {"drop": True}
    if roll < 0.23:
        return {"duplicates": rng.randrange(1, 3)}
    if roll < 0.48:
        return {"delay_s": round(rng.uniform(0.2, 4.0), 1)}
    return {}


class GuestSide:
    """Guests book, change and cancel in Beds24 (webhooks as configured per change)."""

    def __init__(self, http: httpx.AsyncClient, sandbox: str, load: Load) -> None:
        self._http = http
        self._sandbox = sandbox
        self._load = load
        self._count = 0

    def _fits(
        self, hotel: Hotel, stay: tuple[date, date], freed: list[date], rooms: int = 1
    ) -> bool:
        held = hotel.guest_nights.copy()
        held.subtract(freed)
        return all(held[night] + rooms <= ROOMS_PER_TYPE for night in _nights(stay))

    async def book_group(self, hotel: Hotel, rng: random.Random) -> None:
        """One OTA reservation of 2 or 3 rooms: a Beds24 booking group. Its members are
        then changed and cancelled one by one like any booking."""
        stay, rooms = _stay(rng), rng.choice((2, 3))
        if not self._fits(hotel, stay, [], rooms):
            return
        self._count += 1
        answer = await self._http.post(
            f"{self._sandbox}/_sandbox/guest-groups",
            json={
                "rooms": [{"roomId": hotel.guest_room}] * rooms,
                "arrival": str(stay[0]),
                "departure": str(stay[1]),
                "lastName": f"Chaos{self._count}",
                "numAdult": 2,
                "delivery": _delivery(rng),
            },
        )
        if answer.status_code != 201:
            self._load.sandbox_refused += 1
            return
        for booking in answer.json():
            hotel.guest_bookings[booking["id"]] = stay
            hotel.guest_nights.update(_nights(stay))
        self._load.inbound_changes += 1
        self._load.groups += 1

    async def book(self, hotel: Hotel, rng: random.Random, **delivery: Any) -> int | None:
        stay = _stay(rng)
        if not self._fits(hotel, stay, []):
            return None
        self._count += 1
        answer = await self._http.post(
            f"{self._sandbox}/_sandbox/guest-bookings",
            json={
                "roomId": hotel.guest_room,
                "arrival": str(stay[0]),
                "departure": str(stay[1]),
                "lastName": f"Chaos{self._count}",
                "numAdult": rng.randrange(1, 4),
                "delivery": delivery or _delivery(rng),
            },
        )
        if answer.status_code != 201:
            self._load.sandbox_refused += 1
            return None
        booking_id: int = answer.json()["id"]
        hotel.guest_bookings[booking_id] = stay
        hotel.guest_nights.update(_nights(stay))
        self._load.inbound_changes += 1
        return booking_id

    async def change(self, hotel: Hotel, rng: random.Random) -> None:
        candidates = [b for b in hotel.guest_bookings if b not in hotel.probes]
        if not candidates:
            return
        booking_id = rng.choice(candidates)
        old = hotel.guest_bookings[booking_id]
        if rng.random() < 0.3:
            answer = await self._http.post(
                f"{self._sandbox}/_sandbox/guest-bookings/{booking_id}/cancel",
                json={"delivery": _delivery(rng)},
            )
            if answer.status_code == 200:
                del hotel.guest_bookings[booking_id]
                hotel.guest_nights.subtract(_nights(old))
                self._load.inbound_changes += 1
            return
        fields: dict[str, Any] = {"numAdult": rng.randrange(1, 4)}
        stay = old
        if rng.random() < 0.5:
            stay = _stay(rng)
            if not self._fits(hotel, stay, _nights(old)):
                stay = old
            fields |= {"arrival": str(stay[0]), "departure": str(stay[1])}
        answer = await self._http.patch(
            f"{self._sandbox}/_sandbox/guest-bookings/{booking_id}",
            json={**fields, "delivery": _delivery(rng)},
        )
        if answer.status_code == 200:
            hotel.guest_nights.subtract(_nights(old))
            hotel.guest_nights.update(_nights(stay))
            hotel.guest_bookings[booking_id] = stay
            self._load.inbound_changes += 1


class PmsSide:
    """The front desk writes reservations in the PMS, each change its own transaction."""

    def __init__(self, dsn: str, load: Load) -> None:
        self._dsn = dsn
        self._load = load
        self._count = 0

    async def _write(self, sql: str, *args: Any) -> Any:
        try:
            conn = await asyncpg.connect(self._dsn, timeout=3)
        except DATABASE_ERRORS:
            self._load.pms_writes_refused += 1
            return None
        try:
            return await conn.fetchval(sql, *args)
        except DATABASE_ERRORS:
            self._load.pms_writes_refused += 1
            return None
        finally:
            await conn.close(timeout=3)

    def _free_rooms(self, hotel: Hotel, stay: tuple[date, date], moving: UUID | None) -> list[UUID]:
        taken = {
            room
            for rid, (room, arrival, departure) in hotel.pms_stays.items()
            if rid != moving and arrival < stay[1] and stay[0] < departure
        }
        return [r for r in hotel.pms_rooms if r not in taken]

    def _free_room(self, hotel: Hotel, stay: tuple[date, date], moving: UUID | None) -> UUID | None:
        free = self._free_rooms(hotel, stay, moving)
        return free[0] if free else None

    async def book_stay(self, hotel: Hotel, rng: random.Random) -> None:
        """One guest in two rooms as one stay, in one transaction: one Beds24 group."""
        stay = _stay(rng)
        rooms = self._free_rooms(hotel, stay, None)[:2]
        if len(rooms) < 2:
            return
        self._count += 1
        try:
            conn = await asyncpg.connect(self._dsn, timeout=3)
        except DATABASE_ERRORS:
            self._load.pms_writes_refused += 1
            return
        try:
            made = await conn.fetch(
                """WITH s AS (INSERT INTO stays (property_id) VALUES ($1) RETURNING id)
                   INSERT INTO reservations (property_id, room_id, stay_id, arrival,
                       departure, guest_first_name, guest_last_name, adults)
                   SELECT $1, room, s.id, $3, $4, 'Front', $5, 2
                   FROM s, unnest($2::uuid[]) AS room RETURNING id, room_id""",
                hotel.property_id,
                rooms,
                stay[0],
                stay[1],
                f"Pms{self._count}",
            )
        except DATABASE_ERRORS:
            self._load.pms_writes_refused += 1
            return
        finally:
            await conn.close(timeout=3)
        for row in made:
            hotel.pms_stays[row["id"]] = (row["room_id"], *stay)
        self._load.outbound_changes += 1
        self._load.stays += 1

    async def book(self, hotel: Hotel, rng: random.Random) -> UUID | None:
        stay = _stay(rng)
        room = self._free_room(hotel, stay, None)
        if room is None:
            return None
        self._count += 1
        reservation: UUID | None = await self._write(
            "INSERT INTO reservations (property_id, room_id, arrival, departure, "
            "guest_first_name, guest_last_name, adults) VALUES ($1, $2, $3, $4, 'Front', $5, 2) "
            "RETURNING id",
            hotel.property_id,
            room,
            stay[0],
            stay[1],
            f"Pms{self._count}",
        )
        if reservation is not None:
            hotel.pms_stays[reservation] = (room, *stay)
            self._load.outbound_changes += 1
        return reservation

    async def change(self, hotel: Hotel, rng: random.Random) -> None:
        candidates = [r for r in hotel.pms_stays if r not in hotel.probes]
        if not candidates:
            return
        reservation = rng.choice(candidates)
        roll = rng.random()
        if roll < 0.25:
            done = await self._write(
                "UPDATE reservations SET status = 'cancelled' WHERE id = $1 RETURNING id",
                reservation,
            )
            if done:
                del hotel.pms_stays[reservation]
        elif roll < 0.6:
            stay = _stay(rng)
            new_room = self._free_room(hotel, stay, reservation)
            if new_room is None:
                return
            done = await self._write(
                "UPDATE reservations SET room_id = $2, arrival = $3, departure = $4 "
                "WHERE id = $1 RETURNING id",
                reservation,
                new_room,
                *stay,
            )
            if done:
                hotel.pms_stays[reservation] = (new_room, *stay)
        else:
            done = await self._write(
                "UPDATE reservations SET adults = $2, notes = $3 WHERE id = $1 RETURNING id",
                reservation,
                rng.randrange(1, 5),
                f"note {rng.randrange(1000)}",
            )
        if done:
            self._load.outbound_changes += 1


class BookingEngine:
    """Guests booking on the hotel's own site: a hold on the PMS's room type while they
    book, then confirmed (a reservation), released (they leave) or left to expire."""

    def __init__(self, dsn: str, load: Load) -> None:
        self._dsn = dsn
        self._load = load

    async def _in_transaction(self, work: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
        try:
            conn = await asyncpg.connect(self._dsn, timeout=3)
        except DATABASE_ERRORS:
            self._load.pms_writes_refused += 1
            return None
        try:
            async with conn.transaction():
                return await work(conn)
        except HoldRefused:
            self._load.holds_refused += 1
            return None
        except DATABASE_ERRORS:
            self._load.pms_writes_refused += 1
            return None
        finally:
            await conn.close(timeout=3)

    async def hold(self, hotel: Hotel, rng: random.Random) -> None:
        stay = _stay(rng)
        held = await self._in_transaction(
            lambda conn: place_hold(
                conn,
                hotel.property_id,
                HoldTarget(room_type_id=hotel.pms_room_type),
                arrival=stay[0],
                departure=stay[1],
                lasts=timedelta(seconds=rng.uniform(2, 15)),
                reference=f"cart-{rng.randrange(10**6)}",
                placed_by="chaos booking engine",
            )
        )
        if held is not None:
            hotel.holds.add(held)
            self._load.holds_placed += 1

    async def _remember(self, hotel: Hotel, reservation: UUID) -> None:
        """The desk's bookkeeping learns the room the confirmed hold took (it books around
        the rooms it knows to be taken)."""
        row = await self._in_transaction(
            lambda conn: conn.fetchrow(
                "SELECT room_id, arrival, departure FROM reservations WHERE id = $1", reservation
            )
        )
        if row is not None:
            hotel.pms_stays[reservation] = (row["room_id"], row["arrival"], row["departure"])

    async def end(self, hotel: Hotel, rng: random.Random) -> None:
        if not hotel.holds:
            return
        held = rng.choice(sorted(hotel.holds))
        hotel.holds.discard(held)
        if rng.random() < 0.6:
            reservation = await self._in_transaction(
                lambda conn: confirm_hold(conn, held, guest_last_name="Web", adults=2)
            )
            if reservation is not None:
                self._load.holds_confirmed += 1
                self._load.outbound_changes += 1
                await self._remember(hotel, reservation)
            return
        released = await self._in_transaction(lambda conn: release_hold(conn, held))
        if released:
            self._load.holds_released += 1


async def run_load(
    hotels: list[Hotel],
    guests: GuestSide,
    pms: PmsSide,
    plan: Plan,
    until: asyncio.Event,
    engine: BookingEngine,
) -> None:
    rng = random.Random(20261125)

    async def paced(per_s: float, step: Callable[[Hotel], Awaitable[object]]) -> None:
        pause = 1 / per_s
        while not until.is_set():
            await step(rng.choice(hotels))
            await asyncio.sleep(pause)  # sleep-ok: pacing the offered load

    async def guest_step(hotel: Hotel) -> None:
        roll = rng.random()
        if roll < 0.1:
            await guests.book_group(hotel, rng)
        elif roll < 0.5:
            await guests.book(hotel, rng)
        else:
            await guests.change(hotel, rng)

    async def pms_step(hotel: Hotel) -> None:
        roll = rng.random()
        if roll < 0.08:
            await pms.book_stay(hotel, rng)
        elif roll < 0.35:
            await pms.book(hotel, rng)
        elif roll < 0.45:
            await engine.hold(hotel, rng)
        elif roll < 0.5:
            await engine.end(hotel, rng)
        else:
            await pms.change(hotel, rng)

    await asyncio.gather(
        paced(plan.inbound_per_s, guest_step), paced(plan.outbound_per_s, pms_step)
    )


# -- faults and recovery -------------------------------------------------------------------
@dataclass
class Faults:
    stack: Stack
    postgres: PrivatePostgres
    rabbitmq: PrivateRabbitMQ
    hotels: list[Hotel]
    guests: GuestSide
    pms: PmsSide
    dsn: str
    recovery: list[tuple[str, float | None]] = field(default_factory=list)

    async def kill(self, name: str) -> None:
        await self.stack.kill(name)
        await self.stack.start(name)
        await self._recovered(f"SIGKILL {name}", ready=name)

    async def restart_rabbitmq(self) -> None:
        await asyncio.to_thread(self.rabbitmq.stop)
        await asyncio.sleep(5)  # sleep-ok: the outage itself lasts this long
        await asyncio.to_thread(self.rabbitmq.start)
        await self._recovered("RabbitMQ stop/start")

    async def restart_postgres(self) -> None:
        await asyncio.to_thread(self.postgres.stop, "fast")
        await asyncio.sleep(4)  # sleep-ok: the outage itself lasts this long
        await asyncio.to_thread(self.postgres.start)
        await self._recovered("Postgres restart")

    async def _recovered(self, fault: str, ready: str | None = None) -> None:
        """Seconds from the fault's end until a probe booking made then has gone each way
        (and the restarted service answers ready)."""
        started = time.monotonic()
        rng = random.Random(len(self.recovery))
        hotel = self.hotels[0]
        arrived: dict[str, float] = {}
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                if ready is not None:
                    await self.stack.wait_ready(ready, timeout=PROBE_TIMEOUT_S, quiet=True)
                booking = None
                while booking is None:
                    booking = await self.guests.book(hotel, rng, delay_s=0)
                    await asyncio.sleep(0)  # let the load run while no stay fits
                hotel.probes.add(booking)
                reservation = None
                while reservation is None:
                    reservation = await self.pms.book(hotel, rng)
                    await asyncio.sleep(0)  # let the load run while no stay fits
                hotel.probes.add(reservation)

                async def both() -> bool:
                    for direction, done in (await self._arrived(booking, reservation)).items():
                        if done:
                            arrived.setdefault(direction, time.monotonic() - started)
                    return len(arrived) == 2

                await wait_until("probe", both, PROBE_TIMEOUT_S, True)
            took: float | None = time.monotonic() - started
        except (TimeoutError, StackFailed):
            took = None
        self.recovery.append((fault, took))
        each = ", ".join(f"{d} {t:.1f} s" for d, t in sorted(arrived.items())) or "neither"
        shown = f"{took:.1f} s" if took is not None else f"not within {PROBE_TIMEOUT_S:.0f} s"
        say(f"    {fault}: both directions flow again after {shown} ({each})")

    async def _arrived(self, booking: int, reservation: UUID) -> dict[str, bool]:
        try:
            conn = await asyncpg.connect(self.dsn, timeout=3)
        except DATABASE_ERRORS:
            return {}
        try:
            inbound = await conn.fetchval(
                "SELECT count(*) FROM reservations WHERE beds24_booking_id = $1", booking
            )
            outbound = await conn.fetchval(
                "SELECT beds24_booking_id IS NOT NULL FROM reservations WHERE id = $1",
                reservation,
            )
        except DATABASE_ERRORS:
            return {}
        finally:
            await conn.close(timeout=3)
        return {"inbound": bool(inbound), "outbound": bool(outbound)}


# -- comparing Beds24 with the PMS ---------------------------------------------------------
@dataclass
class Verdict:
    lost: int = 0
    doubled: int = 0
    duplicate_in_beds24: int = 0
    differing: int = 0
    stuck: int = 0
    failed: int = 0
    availability_mismatches: int = 0
    groups_split: int = 0  # a Beds24 group not exactly one PMS stay, or the other way round
    groups_compared: int = 0
    waiting_for_room: int = 0  # Beds24 bookings the PMS holds without a room (flagged)
    holds_confirmed_late: int = 0  # confirmed after their expiry: never allowed
    holds_not_reaped: int = 0  # still held more than 5 s past their expiry
    holds_ended_twice: int = 0  # a hold whose unit was given back more than once
    deadlocks: int = 0  # in Postgres's log: retried, but a sign of unordered locking
    bookings_compared: int = 0
    reservations_compared: int = 0
    nights_compared: int = 0
    examples: list[str] = field(default_factory=list)
    failure_reasons: dict[str, int] = field(default_factory=dict)

    def note(self, text: str) -> None:
        if len(self.examples) < 15:
            self.examples.append(text)


BEDS24_CANCELLED = "cancelled"


async def compare_bookings(
    http: httpx.AsyncClient, db: asyncpg.Connection, sandbox: str, hotel: Hotel, v: Verdict
) -> None:
    in_beds24 = (
        await http.get(
            f"{sandbox}/_sandbox/bookings", params={"propertyId": hotel.beds24_property_id}
        )
    ).json()
    rows = await db.fetch(
        "SELECT id, beds24_booking_id, arrival, departure, status, guest_last_name, stay_id "
        "FROM reservations WHERE property_id = $1",
        hotel.property_id,
    )
    by_booking = {r["beds24_booking_id"]: r for r in rows if r["beds24_booking_id"]}
    by_name = Counter(r["guest_last_name"] for r in rows)
    # A group's rooms share the guest's name: doubled means more PMS stays than bookings.
    booked_as = Counter(b.get("lastName") for b in in_beds24)
    ours: dict[str, list[dict[str, Any]]] = {}
    for booking in in_beds24:
        reference = str(booking.get("apiReference") or "")
        if reference.startswith("pms-"):
            ours.setdefault(reference[4:], []).append(booking)
            continue
        v.bookings_compared += 1
        row = by_booking.get(booking["id"])
        if row is None:
            v.lost += 1
            v.note(f"Beds24 booking {booking['id']} ({booking['status']}) has no PMS reservation")
            continue
        if by_name[booking.get("lastName")] > booked_as[booking.get("lastName")]:
            v.doubled += 1
            v.note(f"Beds24 booking {booking['id']} is {by_name[booking['lastName']]} PMS stays")
        _same(v, f"Beds24 booking {booking['id']}", booking, row)
    for row in rows:
        if not str(row["guest_last_name"]).startswith("Pms"):
            continue
        v.reservations_compared += 1
        found = ours.get(str(row["id"]), [])
        if len(found) > 1:
            v.duplicate_in_beds24 += len(found) - 1
            v.note(f"reservation {row['id']} exists {len(found)} times in Beds24")
        if not found:
            if row["status"] == "cancelled" and row["beds24_booking_id"] is None:
                continue  # cancelled before it was ever sent: Beds24 never needs it
            v.lost += 1
            v.note(f"reservation {row['id']} ({row['status']}) never reached Beds24")
            continue
        _same(v, f"reservation {row['id']}", found[0], row)
    _compare_groups(in_beds24, rows, v)


def _compare_groups(
    in_beds24: list[dict[str, Any]], rows: list[asyncpg.Record], v: Verdict
) -> None:
    """Every Beds24 booking group is exactly one PMS stay, and every PMS stay's rooms in
    Beds24 are exactly one group (a stay or group split or merged is counted)."""
    by_booking = {r["beds24_booking_id"]: r for r in rows if r["beds24_booking_id"]}
    by_reservation = {str(r["id"]): r for r in rows}
    stays_of_group: dict[int, set[UUID | None]] = {}
    groups_of_stay: dict[UUID, list[int | None]] = {}
    for booking in in_beds24:
        reference = str(booking.get("apiReference") or "")
        row = (
            by_reservation.get(reference[4:])
            if reference.startswith("pms-")
            else by_booking.get(booking["id"])
        )
        if row is None:
            continue  # counted as lost above
        master = booking.get("masterId")
        if master is not None:
            stays_of_group.setdefault(master, set()).add(row["stay_id"])
        if row["stay_id"] is not None:
            groups_of_stay.setdefault(row["stay_id"], []).append(master)
    for master, stays in stays_of_group.items():
        if len(stays) != 1 or None in stays:
            v.groups_split += 1
            v.note(f"Beds24 group {master} is PMS stays {sorted(map(str, stays))}")
    for stay, masters in groups_of_stay.items():
        # One room in Beds24 (the others cancelled before they were sent) needs no group.
        if len(masters) > 1 and (len(set(masters)) != 1 or None in masters):
            v.groups_split += 1
            v.note(f"PMS stay {stay}: its {len(masters)} Beds24 bookings are groups {masters}")
    v.groups_compared += len(stays_of_group)


def _same(v: Verdict, what: str, booking: dict[str, Any], row: asyncpg.Record) -> None:
    cancelled = booking["status"] == BEDS24_CANCELLED
    if (booking["arrival"], booking["departure"]) != (str(row["arrival"]), str(row["departure"])):
        v.differing += 1
        v.note(
            f"{what}: Beds24 {booking['arrival']}..{booking['departure']}, "
            f"PMS {row['arrival']}..{row['departure']}"
        )
    elif cancelled != (row["status"] == "cancelled"):
        v.differing += 1
        v.note(f"{what}: Beds24 {booking['status']}, PMS {row['status']}")


async def compare_availability(db: asyncpg.Connection, api: str, hotel: Hotel, v: Verdict) -> None:
    first, last = date.today(), date.today() + timedelta(days=HORIZON_DAYS)
    async with Beds24Client(api, hotel.refresh_token) as client:
        rooms = await client.get_calendar([hotel.guest_room, hotel.pms_room], first, last)
    shown: dict[tuple[int, date], int] = {}
    for room in rooms:
        for entry in room["calendar"]:
            day, to = date.fromisoformat(entry["from"]), date.fromisoformat(entry["to"])
            while day <= to:
                shown[(room["roomId"], day)] = entry["numAvail"]
                day += timedelta(days=1)
    # The PMS's free units: mapped rooms minus reservations in them, minus bookings Beds24
    # sold in that room that still wait for a PMS room, minus live holds; never below 0.
    free = await db.fetch(
        """SELECT m.beds24_room_id::int AS room, d::date AS night,
                  GREATEST(0, count(DISTINCT m.room_id) - count(DISTINCT x.id) - (
                      SELECT count(*) FROM reservations w
                      WHERE w.property_id = $1 AND w.room_id IS NULL
                        AND w.beds24_room_id = m.beds24_room_id
                        AND channel_sync_occupies(w.status)
                        AND w.arrival <= d AND d < w.departure) - (
                      SELECT count(*) FROM inventory_holds h
                      WHERE h.property_id = $1 AND h.beds24_room_id = m.beds24_room_id
                        AND h.status = 'held' AND h.expires_at > now()
                        AND h.arrival <= d AND d < h.departure)) AS free
           FROM channel_sync_room_map m
           CROSS JOIN generate_series($2::date, $3::date, '1 day') d
           LEFT JOIN reservations x ON x.room_id = m.room_id
                AND channel_sync_occupies(x.status) AND x.arrival <= d AND d < x.departure
           WHERE m.property_id = $1 AND m.is_active
           GROUP BY m.beds24_room_id, d""",
        hotel.property_id,
        first,
        last,
    )
    for row in free:
        v.nights_compared += 1
        got = shown.get((row["room"], row["night"]))
        if got != row["free"]:
            v.availability_mismatches += 1
            v.note(f"room {row['room']} night {row['night']}: Beds24 {got}, PMS {row['free']}")


async def open_events(db: asyncpg.Connection) -> int:
    count: int = await db.fetchval(
        "SELECT count(*) FROM channel_events WHERE status IN ('received', 'processing')"
    )
    return count


async def judge(http: httpx.AsyncClient, dsn: str, ports: Ports, hotels: list[Hotel]) -> Verdict:
    v = Verdict()
    db = await asyncpg.connect(dsn)
    try:
        sandbox = ports.url(ports.sandbox)
        for hotel in hotels:
            await compare_bookings(http, db, sandbox, hotel, v)
            await compare_availability(db, f"{sandbox}/api/v2", hotel, v)
        v.stuck = await open_events(db)
        await judge_holds(db, v)
        v.waiting_for_room = await db.fetchval(
            "SELECT count(*) FROM reservations WHERE room_id IS NULL "
            "AND channel_sync_occupies(status) AND departure > current_date"
        )
        failures = await db.fetch(
            "SELECT left(coalesce(last_error, '?'), 120) AS why, count(*) AS n "
            "FROM channel_events WHERE status = 'failed' GROUP BY 1"
        )
        v.failed = sum(r["n"] for r in failures)
        v.failure_reasons = {r["why"]: r["n"] for r in failures}
    finally:
        await db.close()
    return v


async def judge_holds(db: asyncpg.Connection, v: Verdict) -> None:
    """Each hold ends once and on time: never confirmed after its expiry, reaped within
    5 s of it, its unit taken and given back by exactly one availability change each."""
    v.holds_confirmed_late = await db.fetchval(
        "SELECT count(*) FROM inventory_holds WHERE status = 'confirmed' AND ended_at > expires_at"
    )
    v.holds_not_reaped = await db.fetchval(
        "SELECT count(*) FROM inventory_holds WHERE status = 'held' "
        "AND expires_at < now() - interval '5 seconds'"
    )
    v.holds_ended_twice = await db.fetchval(
        """SELECT count(*) FROM (
               SELECT h.id FROM inventory_holds h
               JOIN channel_events e ON e.entity_internal_id = h.id
                    AND e.event_type = 'pms.availability.update'
               GROUP BY h.id HAVING count(*) > 2) twice"""
    )


async def settle(
    http: httpx.AsyncClient, dsn: str, ports: Ports, hotels: list[Hotel], plan: Plan
) -> tuple[Verdict, float]:
    """Wait until nothing is open and Beds24 equals the PMS (dropped webhooks come back with
    the next poll), or the deadline; then judge."""
    started = time.monotonic()
    deadline = started + plan.settle_timeout_s
    while True:
        db = await asyncpg.connect(dsn)
        try:
            pending = await open_events(db)
        finally:
            await db.close()
        if pending == 0:
            verdict = await judge(http, dsn, ports, hotels)
            clean = verdict.lost + verdict.differing + verdict.availability_mismatches == 0
            if (clean and verdict.stuck == 0) or time.monotonic() > deadline:
                return verdict, time.monotonic() - started
        elif time.monotonic() > deadline:
            return await judge(http, dsn, ports, hotels), time.monotonic() - started
        await asyncio.sleep(2)  # sleep-ok: polling under the deadline above


# -- the run -------------------------------------------------------------------------------
async def chaos(plan: Plan, json_path: Path | None) -> int:
    pg_port = int(os.environ.get("CHAOS_PG_PORT", "55433"))
    amqp_port = int(os.environ.get("CHAOS_AMQP_PORT", "35673"))
    base = int(os.environ.get("CHAOS_HTTP_BASE_PORT", "18080"))
    ports = Ports(
        gateway=base, admin=base + 1, inbound=base + 2, outbound=base + 3, sandbox=base + 10
    )
    say(
        f"chaos: {plan.properties} properties, load >= {plan.min_load_s:.0f} s; private "
        f"Postgres :{pg_port}, RabbitMQ :{amqp_port}"
    )
    postgres = PrivatePostgres(pg_port)
    rabbitmq = PrivateRabbitMQ(amqp_port)
    stack: Stack | None = None
    try:
        await asyncio.gather(asyncio.to_thread(postgres.start), asyncio.to_thread(rabbitmq.start))
        admin = await asyncpg.connect(postgres.dsn())
        await admin.execute('CREATE DATABASE "chaos"')
        await admin.close()
        dsn = postgres.dsn("chaos")
        migrate = await asyncio.create_subprocess_exec(
            "channel-sync-migrate",
            "upgrade",
            "head",
            env={**os.environ, "DATABASE_URL": dsn},
            stdout=asyncio.subprocess.DEVNULL,
        )
        assert await migrate.wait() == 0, "migrations failed"
        stack = Stack(
            "chaos",
            dsn,
            ports,
            RABBITMQ_URL=rabbitmq.url,
            ADMIN_API_TOKEN=ADMIN_TOKEN,
            RETRY_DELAYS_MS="1000,2000,4000,8000",
            RELAY_POLL_INTERVAL_S="1",
            POLL_INTERVAL_S="10",
            POLL_MARGIN_S="120",
            LOG_LEVEL=os.environ.get("CHAOS_LOG_LEVEL", "INFO"),
        )
        await stack.start_all()
        async with httpx.AsyncClient(timeout=30) as http:
            db = await asyncpg.connect(dsn)
            try:
                hotels = [await onboard(http, db, ports, n) for n in range(plan.properties)]
            finally:
                await db.close()
            load = Load()
            guests = GuestSide(http, ports.url(ports.sandbox), load)
            pms = PmsSide(dsn, load)
            faults = Faults(stack, postgres, rabbitmq, hotels, guests, pms, dsn)
            stop_load = asyncio.Event()
            started = time.monotonic()
            engine = BookingEngine(dsn, load)
            loader = asyncio.create_task(run_load(hotels, guests, pms, plan, stop_load, engine))
            say("  faults (each after the previous one's recovery):")
            for round_ in range(plan.kills_per_service):
                for name in SERVICES:
                    await faults.kill(name)
                if round_ == 0:
                    await faults.restart_rabbitmq()
                    await faults.restart_postgres()
            # The load runs at least its planned time, faults or not.
            await asyncio.wait(
                {loader}, timeout=max(0, plan.min_load_s - (time.monotonic() - started))
            )
            stop_load.set()
            await loader
            loaded = time.monotonic() - started
            say(
                f"  load: {load.inbound_changes} Beds24-side changes ({load.groups} multi-room "
                f"OTA reservations), {load.outbound_changes} PMS changes ({load.stays} two-room "
                f"stays) in {loaded:.0f} s ({load.pms_writes_refused} PMS writes refused "
                f"while Postgres was down); holds: {load.holds_placed} placed, "
                f"{load.holds_confirmed} confirmed, {load.holds_released} released, "
                f"{load.holds_refused} refused, the rest left to expire"
            )
            verdict, settled_in = await settle(http, dsn, ports, hotels, plan)
        verdict.deadlocks = postgres.log_count("deadlock detected")
        return report(verdict, faults.recovery, load, settled_in, json_path)
    finally:
        if stack is not None:
            await stack.stop_all()
        await asyncio.to_thread(rabbitmq.remove)
        await asyncio.to_thread(postgres.remove)


def report(
    v: Verdict,
    recovery: list[tuple[str, float | None]],
    load: Load,
    settled_in: float,
    json_path: Path | None,
) -> int:
    say(
        f"  settled after {settled_in:.0f} s; compared {v.bookings_compared} guest bookings, "
        f"{v.reservations_compared} PMS reservations, {v.groups_compared} Beds24 groups, "
        f"{v.nights_compared} room-nights; "
        f"{v.waiting_for_room} booking(s) still waiting for a PMS room"
    )
    for example in v.examples:
        say(f"    ! {example}")
    for reason, n in v.failure_reasons.items():
        say(f"    failed x{n}: {reason}")
    slowest = max((t if t is not None else float("inf")) for _, t in recovery)
    say(
        f"\nchaos: lost {v.lost} · doubled {v.doubled} · duplicate in Beds24 "
        f"{v.duplicate_in_beds24} · differing {v.differing} · stuck {v.stuck} · failed "
        f"{v.failed} · availability mismatches {v.availability_mismatches} · groups split "
        f"{v.groups_split} · holds confirmed late {v.holds_confirmed_late} · holds not reaped "
        f"{v.holds_not_reaped} · holds ended twice {v.holds_ended_twice} · deadlocks "
        f"{v.deadlocks} · slowest recovery {slowest:.1f} s"
    )
    if json_path is not None:
        json_path.write_text(
            json.dumps(
                {
                    "lost": v.lost,
                    "doubled": v.doubled,
                    "duplicate_in_beds24": v.duplicate_in_beds24,
                    "differing": v.differing,
                    "stuck": v.stuck,
                    "failed": v.failed,
                    "availability_mismatches": v.availability_mismatches,
                    "groups_split": v.groups_split,
                    "holds_confirmed_late": v.holds_confirmed_late,
                    "holds_not_reaped": v.holds_not_reaped,
                    "holds_ended_twice": v.holds_ended_twice,
                    "groups_compared": v.groups_compared,
                    "deadlocks": v.deadlocks,
                    "waiting_for_room": v.waiting_for_room,
                    "bookings_compared": v.bookings_compared,
                    "reservations_compared": v.reservations_compared,
                    "nights_compared": v.nights_compared,
                    "recovery_s": dict(recovery),
                    "inbound_changes": load.inbound_changes,
                    "outbound_changes": load.outbound_changes,
                    "examples": v.examples,
                },
                indent=2,
            )
        )
    bad = (
        v.lost
        + v.doubled
        + v.duplicate_in_beds24
        + v.stuck
        + v.availability_mismatches
        + v.groups_split
        + v.holds_confirmed_late
        + v.holds_not_reaped
        + v.holds_ended_twice
    )
    return 1 if bad or slowest > RECOVERY_LIMIT_S else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--short", action="store_true", help="one fault of each kind")
    parser.add_argument("--json", type=Path, help="write the summary here as JSON")
    args = parser.parse_args()
    # SIGTERM (a timeout, Ctrl-C from make) unwinds like Ctrl-C: the private servers and
    # the services are stopped on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(asyncio.run(chaos(SHORT if args.short else FULL, args.json)))


if __name__ == "__main__":
    main()
