"""The chaos run's hotels and the load on them: guests in Beds24, the front desk in the PMS
and the booking engine's holds, each side keeping its own books so that it never sells more
than a room type holds."""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import httpx
from channel_sync.db import DATABASE_ERRORS
from channel_sync.holds import HoldRefused, HoldTarget, confirm_hold, place_hold, release_hold

from channel_sync_tools.api import StackApi
from channel_sync_tools.onboarding import Hotel, onboard

T = TypeVar("T")
Held = TypeVar("Held", int, UUID)  # a Beds24 booking, or a PMS reservation
ROOMS_PER_TYPE = 8
HORIZON_DAYS = 45  # the load books within this window; availability is compared over it
GUESTS, DESK = "Double", "Twin"  # the room types guests book in Beds24, the PMS books


@dataclass(frozen=True)
class Plan:
    properties: int
    min_load_s: float
    inbound_per_s: float
    outbound_per_s: float
    kills_per_service: int
    settle_timeout_s: float


@dataclass
class ChaosHotel:
    hotel: Hotel
    # Nights booked per Beds24 room type, as the load generator planned them: it never
    # sells more than the type holds, so every booking has a PMS room.
    guest_nights: Counter[date] = field(default_factory=Counter)
    guest_bookings: dict[int, tuple[date, date]] = field(default_factory=dict)
    pms_stays: dict[UUID, tuple[UUID, date, date]] = field(default_factory=dict)
    # Probe bookings (recovery measurement) hold their rooms but the load never touches
    # them: a probe cancelled by the load before it synced would never arrive.
    probes: set[int | UUID] = field(default_factory=set)
    holds: set[UUID] = field(default_factory=set)  # placed and not ended by the load

    @property
    def property_id(self) -> UUID:
        return self.hotel.property_id

    def pick(self, rng: random.Random, among: Iterable[Held]) -> Held | None:
        """One of `among` the load may change (never a probe), or None."""
        candidates = [held for held in among if held not in self.probes]
        return rng.choice(candidates) if candidates else None

    @property
    def guest_room(self) -> int:
        """The Beds24 room (type) the guests book."""
        return self.hotel.beds24_room(GUESTS)

    @property
    def pms_room(self) -> int:
        """The Beds24 room (type) the PMS's own reservations use."""
        return self.hotel.beds24_room(DESK)

    @property
    def pms_rooms(self) -> list[UUID]:
        return self.hotel.rooms(DESK)

    @property
    def pms_room_type(self) -> UUID:
        """What the booking engine's holds take."""
        return self.hotel.pms.room_types[DESK]


async def connect_hotel(api: StackApi, db: asyncpg.Connection, n: int) -> ChaosHotel:
    rooms = {
        kind: [f"{kind[0]}{100 + i}" for i in range(ROOMS_PER_TYPE)] for kind in (GUESTS, DESK)
    }
    limit = float(os.environ.get("CHAOS_CREDIT_LIMIT", "2000"))
    return ChaosHotel(await onboard(api, db, f"Chaos Hotel {n}", rooms, credit_limit=limit))


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


async def with_connection(dsn: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """`work` in one transaction on a connection of its own: Postgres may restart at any
    moment, so nothing holds a connection between steps."""
    conn = await asyncpg.connect(dsn, timeout=3)
    try:
        async with conn.transaction():
            return await work(conn)
    finally:
        await conn.close(timeout=3)


class GuestSide:
    """Guests book, change and cancel in Beds24 (webhooks as configured per change). The
    sandbox's answers are counted, never raised: a refusal is part of the load."""

    def __init__(self, http: httpx.AsyncClient, sandbox: str, load: Load) -> None:
        self._http = http
        self._sandbox = sandbox
        self._load = load
        self._count = 0

    def _fits(
        self, hotel: ChaosHotel, stay: tuple[date, date], freed: list[date], rooms: int = 1
    ) -> bool:
        held = hotel.guest_nights.copy()
        held.subtract(freed)
        return all(held[night] + rooms <= ROOMS_PER_TYPE for night in _nights(stay))

    async def book_group(self, hotel: ChaosHotel, rng: random.Random) -> None:
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

    async def book(self, hotel: ChaosHotel, rng: random.Random, **delivery: Any) -> int | None:
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

    async def change(self, hotel: ChaosHotel, rng: random.Random) -> None:
        booking_id = hotel.pick(rng, hotel.guest_bookings)
        if booking_id is None:
            return
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


class PmsWriter:
    """Writes to the PMS, each its own transaction; one refused (Postgres down, or a hold
    refused) is counted, never raised."""

    def __init__(self, dsn: str, load: Load) -> None:
        self._dsn = dsn
        self._load = load

    async def _write(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T | None:
        try:
            return await with_connection(self._dsn, work)
        except HoldRefused:
            self._load.holds_refused += 1
        except DATABASE_ERRORS:
            self._load.pms_writes_refused += 1
        return None


class PmsSide(PmsWriter):
    """The front desk writes reservations in the PMS."""

    def __init__(self, dsn: str, load: Load) -> None:
        super().__init__(dsn, load)
        self._count = 0

    def _free_rooms(
        self, hotel: ChaosHotel, stay: tuple[date, date], moving: UUID | None
    ) -> list[UUID]:
        taken = {
            room
            for rid, (room, arrival, departure) in hotel.pms_stays.items()
            if rid != moving and arrival < stay[1] and stay[0] < departure
        }
        return [r for r in hotel.pms_rooms if r not in taken]

    async def book_stay(self, hotel: ChaosHotel, rng: random.Random) -> None:
        """One guest in two rooms as one stay, in one transaction: one Beds24 group."""
        stay = _stay(rng)
        rooms = self._free_rooms(hotel, stay, None)[:2]
        if len(rooms) < 2:
            return
        self._count += 1
        made = await self._write(
            lambda conn: conn.fetch(
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
        )
        if made is None:
            return
        for row in made:
            hotel.pms_stays[row["id"]] = (row["room_id"], *stay)
        self._load.outbound_changes += 1
        self._load.stays += 1

    async def book(self, hotel: ChaosHotel, rng: random.Random) -> UUID | None:
        stay = _stay(rng)
        free = self._free_rooms(hotel, stay, None)
        if not free:
            return None
        self._count += 1
        reservation: UUID | None = await self._write(
            lambda conn: conn.fetchval(
                "INSERT INTO reservations (property_id, room_id, arrival, departure, "
                "guest_first_name, guest_last_name, adults) "
                "VALUES ($1, $2, $3, $4, 'Front', $5, 2) RETURNING id",
                hotel.property_id,
                free[0],
                stay[0],
                stay[1],
                f"Pms{self._count}",
            )
        )
        if reservation is not None:
            hotel.pms_stays[reservation] = (free[0], *stay)
            self._load.outbound_changes += 1
        return reservation

    async def change(self, hotel: ChaosHotel, rng: random.Random) -> None:
        reservation = hotel.pick(rng, hotel.pms_stays)
        if reservation is None:
            return
        roll = rng.random()
        if roll < 0.25:
            done = await self._write(
                lambda conn: conn.fetchval(
                    "UPDATE reservations SET status = 'cancelled' WHERE id = $1 RETURNING id",
                    reservation,
                )
            )
            if done:
                del hotel.pms_stays[reservation]
        elif roll < 0.6:
            stay = _stay(rng)
            free = self._free_rooms(hotel, stay, reservation)
            if not free:
                return
            done = await self._write(
                lambda conn: conn.fetchval(
                    "UPDATE reservations SET room_id = $2, arrival = $3, departure = $4 "
                    "WHERE id = $1 RETURNING id",
                    reservation,
                    free[0],
                    *stay,
                )
            )
            if done:
                hotel.pms_stays[reservation] = (free[0], *stay)
        else:
            adults, note = rng.randrange(1, 5), f"note {rng.randrange(1000)}"
            done = await self._write(
                lambda conn: conn.fetchval(
                    "UPDATE reservations SET adults = $2, notes = $3 WHERE id = $1 RETURNING id",
                    reservation,
                    adults,
                    note,
                )
            )
        if done:
            self._load.outbound_changes += 1


class BookingEngine(PmsWriter):
    """Guests booking on the hotel's own site: a hold on the PMS's room type while they
    book, then confirmed (a reservation), released (they leave) or left to expire."""

    async def hold(self, hotel: ChaosHotel, rng: random.Random) -> None:
        stay = _stay(rng)
        lasts = timedelta(seconds=rng.uniform(2, 15))
        reference = f"cart-{rng.randrange(10**6)}"
        held = await self._write(
            lambda conn: place_hold(
                conn,
                hotel.property_id,
                HoldTarget(room_type_id=hotel.pms_room_type),
                arrival=stay[0],
                departure=stay[1],
                lasts=lasts,
                reference=reference,
                placed_by="chaos booking engine",
            )
        )
        if held is not None:
            hotel.holds.add(held)
            self._load.holds_placed += 1

    async def _remember(self, hotel: ChaosHotel, reservation: UUID) -> None:
        """The desk's bookkeeping learns the room the confirmed hold took (it books around
        the rooms it knows to be taken)."""
        row = await self._write(
            lambda conn: conn.fetchrow(
                "SELECT room_id, arrival, departure FROM reservations WHERE id = $1", reservation
            )
        )
        if row is not None:
            hotel.pms_stays[reservation] = (row["room_id"], row["arrival"], row["departure"])

    async def end(self, hotel: ChaosHotel, rng: random.Random) -> None:
        if not hotel.holds:
            return
        held = rng.choice(sorted(hotel.holds))
        hotel.holds.discard(held)
        if rng.random() < 0.6:
            reservation = await self._write(
                lambda conn: confirm_hold(conn, held, guest_last_name="Web", adults=2)
            )
            if reservation is not None:
                self._load.holds_confirmed += 1
                self._load.outbound_changes += 1
                await self._remember(hotel, reservation)
            return
        released = await self._write(lambda conn: release_hold(conn, held))
        if released:
            self._load.holds_released += 1


Step = Callable[[ChaosHotel, random.Random], Awaitable[object]]


async def run_load(
    hotels: list[ChaosHotel],
    guests: GuestSide,
    pms: PmsSide,
    engine: BookingEngine,
    plan: Plan,
    until: asyncio.Event,
) -> None:
    rng = random.Random(20261125)
    # Each side's mix of changes: (cumulative share, step).
    guest_mix: list[tuple[float, Step]] = [
        (0.1, guests.book_group),
        (0.5, guests.book),
        (1.0, guests.change),
    ]
    pms_mix: list[tuple[float, Step]] = [
        (0.08, pms.book_stay),
        (0.35, pms.book),
        (0.45, engine.hold),
        (0.5, engine.end),
        (1.0, pms.change),
    ]

    async def paced(per_s: float, mix: list[tuple[float, Step]]) -> None:
        pause = 1 / per_s
        shares, steps = [share for share, _ in mix], [step for _, step in mix]
        while not until.is_set():
            hotel = rng.choice(hotels)
            await rng.choices(steps, cum_weights=shares)[0](hotel, rng)
            await asyncio.sleep(pause)  # sleep-ok: pacing the offered load

    await asyncio.gather(paced(plan.inbound_per_s, guest_mix), paced(plan.outbound_per_s, pms_mix))
