"""The onboarding check of issue 24, repeatable: a real hotel connected to Beds24 through the
admin API, then drift on both sides and two reconciliations; figures and a verdict per rule.

    cd scripts && uv run --frozen python onboard_real_hotel.py [--seed N] [--poll] [--keep]

The hotel: 60 rooms in four room types. Beds24 holds 307 bookings of every kind (three OTAs,
direct, every status, cancelled, past, in-house, owner blocks, inquiries, OTA groups,
roomQty bookings); the PMS holds 127 reservations, 57 of them the same stays as Beds24
bookings: 20 carry the OTA's code (`channel_reference`, with `channel`), 25 the Beds24 id (an
earlier link), 12 are bookings an earlier connection made (our reference `pms-<id>` in
Beds24). A few of those are held differently on each side at connection (the policy
decides, or an operator). The property is onboarded through the admin API (POST
/admin/properties with an invite code, PUT mappings, POST initial-sync) while guests (Beds24
webhooks) and the front desk (PMS writes) change bookings in three waves during the sync.

Then drift on both sides (a PMS guest-name correction whose events are lost; a Beds24
roomQty lowered 2 → 1 whose webhook is dropped; a reservation deleted in the PMS, events
lost, still in Beds24 in a room type with no spare room; an OTA booking edited once at the
desk) and two reconciliations.

Rules (each printed with its count, PASS/FAIL; exit 1 when any fails):
  1. every stay exactly once on each side after the initial sync (and at the end), matched
     by Beds24 id, by our reference, by OTA code with channel;
  2. each conflict repaired by the stated policy with a drift record holding both values
     (and both sides now agree), or open for the operator with both sides kept; no
     difference left that no open record names;
  3. the OTA's code in Beds24's apiReference is never overwritten;
  4. the second reconciliation writes nothing (no new event, no new drift record, no write
     to Beds24);
  5. Beds24 credits per phase, from the sandbox's per-account call log: initial sync <= 20,
     first reconciliation <= 12, second <= 10.

Runs on its own stack (ports 18280-18283, sandbox 18290; override with ONBOARD_PORT_BASE),
its own database (`channel_sync_onboard`) and its own RabbitMQ vhost. `--poll` runs the
missed-webhook poller as in production (its first poll lands at an uncontrolled moment, so
figures vary); without it the poller is off, as in the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
from channel_sync import pms_fields
from channel_sync.pms_availability import free_units
from channel_sync.references import REFERENCE_INFO_CODE, reservation_of_reference
from channel_sync_testing import infra
from stack import Ports, Stack, StackFailed, fresh_database, say

ADMIN_TOKEN = os.environ.get("ADMIN_API_TOKEN", "onboard-admin-token")
BASE_DSN = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/channel_sync")
BASE_AMQP = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
PORT_BASE = int(os.environ.get("ONBOARD_PORT_BASE", "18280"))
PORTS = Ports(
    gateway=PORT_BASE,
    admin=PORT_BASE + 1,
    inbound=PORT_BASE + 2,
    outbound=PORT_BASE + 3,
    sandbox=PORT_BASE + 10,
)
ADMIN = PORTS.url(PORTS.admin)
SANDBOX = PORTS.url(PORTS.sandbox)
HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

CREDIT_BOUNDS = {"initial sync": 20.0, "reconcile 1": 12.0, "reconcile 2": 10.0}
SETTLE_TIMEOUT_S = 240.0

TODAY = date.today()
BLOCK_DAYS = 4  # every stay of a block arrives on its first day: one room per stay per block
PAST_BLOCKS = range(-6, 0)
IN_HOUSE_BLOCK = 0  # starts two days ago: a three-night stay departs tomorrow
FUTURE_BLOCKS = range(1, 20)
FULL_BLOCK = 7  # the Family rooms are all taken in this block (no spare room)
NEW_BLOCKS = range(20, 24)  # stays made during the sync
ROOM_TYPES = (("Double", 28, 1), ("Twin", 16, 2), ("Suite", 10, 3), ("Family", 6, 4))
OTA = {  # Beds24 channel -> (how the hotel's PMS names it, code pattern)
    "booking": ("Booking.com", "{:010d}"),
    "expedia": ("Expedia", "{:09d}"),
    "airbnb": ("Airbnb", "HM{:08X}"),
}
BEDS24_TO_PMS_STATUS = {
    "new": "confirmed",
    "confirmed": "confirmed",
    "request": "tentative",
    "inquiry": "inquiry",
    "black": "blocked",
    "cancelled": "cancelled",
}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Ana Ben Chloé Dmitri Elif Farid Greta Hiro Ines Jonas Kofi Lena Mateo Nora Omar Priya "
    "Quentin Rosa Sven Tara Umar Vera Wen Ximena Yusuf Zoe"
)
SURNAMES = _words(
    "Abara Bergström Castillo Dubois Eriksen Fontaine García Haddad Ivanova Jansen Kowalski "
    "Lindqvist Moreau Nakamura Okafor Petrov Quinn Rossi Schmidt Tanaka Urbano Vasquez "
    "Weber Xu Yilmaz Zamora Novak Brennan Costa Duarte"
)


def block_start(block: int) -> date:
    return TODAY + timedelta(days=-2 + BLOCK_DAYS * block)


# -- the stays ------------------------------------------------------------------------------
@dataclass
class Unit:
    """One stay as the catalogue knows it: a Beds24 booking (one room, or roomQty rooms, or
    one member of an OTA group) and/or a PMS reservation (or a PMS stay of several rooms)."""

    label: str
    kind: str
    origin: str  # beds24 | pms | both
    room_type: str
    block: int
    nights: int
    rooms: int = 1  # roomQty (Beds24) or the rooms of a PMS stay
    match: str | None = None  # code | id | ref: the key that links both sides
    channel: str = "direct"  # Beds24 channel
    code: str | None = None  # the OTA's reservation code (Beds24 apiReference)
    beds24_status: str = "new"
    pms_status: str = "confirmed"
    first: str = ""
    last: str = ""
    email: str = ""
    adults: int = 2
    price: float = 0.0
    group: int | None = None
    made_by: str | None = "pms"  # reservations.made_by stored at connection
    pms_diff: dict[str, Any] = field(default_factory=dict)  # the PMS's own values
    beds24_notes: str = ""
    beds24_ids: list[int] = field(default_factory=list)
    reservation_ids: list[UUID] = field(default_factory=list)
    reserved: bool = False  # not picked for a random change
    slot: int = 0
    changes: list[str] = field(default_factory=list)
    cancelled_in_pms_during_sync: bool = False
    deleted_in_pms: bool = False
    new_during_sync: bool = False

    @property
    def arrival(self) -> date:
        return block_start(self.block)

    @property
    def departure(self) -> date:
        return self.arrival + timedelta(days=self.nights)

    @property
    def in_window(self) -> bool:
        return self.departure >= TODAY

    def expected(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """(Beds24 bookings, PMS reservations) this stay should be, each as (min, max)."""
        if self.origin == "pms":
            sent = self.in_window and self.pms_status != "cancelled"
            n = len(self.reservation_ids)
            if self.cancelled_in_pms_during_sync:
                return (0, n), (n, n)  # sent before its cancel, or never
            return ((n, n) if sent else (0, 0)), (n, n)
        pms = self.rooms if self.in_window else 0
        if self.origin == "both":
            pms = len(self.reservation_ids)
        if self.deleted_in_pms:
            pms = 0
        return (1, 1), (pms, pms)


class Slots:
    """Rooms per (room type, block): a stay takes as many as it has rooms."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.capacity = {name: qty for name, qty, _ in ROOM_TYPES}
        self.used: dict[tuple[str, int], int] = defaultdict(int)

    def take(self, room_type: str, block: int, rooms: int = 1) -> int:
        first = self.used[room_type, block]
        if first + rooms > self.capacity[room_type]:
            raise ValueError(f"no room left in {room_type} block {block}")
        self.used[room_type, block] += rooms
        return first

    def anywhere(self, blocks: Iterable[int], rooms: int = 1, room_type: str | None = None) -> Any:
        options = [b for b in blocks if b != FULL_BLOCK]
        for _ in range(500):
            kind = (
                room_type
                or self.rng.choices([n for n, _, _ in ROOM_TYPES], [q for _, q, _ in ROOM_TYPES])[0]
            )
            block = self.rng.choice(options)
            if self.used[kind, block] + rooms <= self.capacity[kind]:
                return kind, block, self.take(kind, block, rooms)
        raise ValueError("the hotel is full")


class Catalogue:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.slots = Slots(self.rng)
        self.units: list[Unit] = []
        self.names = 0
        self.codes: set[str] = set()

    def guest(self, unit: Unit) -> None:
        i = self.names
        self.names += 1
        surname = SURNAMES[i % len(SURNAMES)]
        if i >= len(SURNAMES):
            surname += "-" + SURNAMES[(i // len(SURNAMES) * 7) % len(SURNAMES)]
        unit.first = FIRST_NAMES[i % len(FIRST_NAMES)]
        unit.last = f"{surname}" if i < len(SURNAMES) else f"{surname} {i // len(SURNAMES)}"
        unit.email = f"guest{i:03d}@example.invalid"
        unit.price = float(90 + (i % 7) * 15) * unit.nights * unit.rooms

    def code(self, channel: str) -> str:
        while True:
            pattern = OTA[channel][1]
            code = pattern.format(self.rng.randrange(10**8, 10**9))
            if code not in self.codes:
                self.codes.add(code)
                return code

    def add(
        self,
        kind: str,
        origin: str,
        *,
        blocks: Iterable[int] = FUTURE_BLOCKS,
        nights: int | None = None,
        rooms: int = 1,
        room_type: str | None = None,
        channel: str = "direct",
        **fields: Any,
    ) -> Unit:
        placed_type, block, slot = self.slots.anywhere(blocks, rooms, room_type)
        return self.put(
            kind,
            origin,
            placed_type,
            block,
            slot,
            nights=nights,
            rooms=rooms,
            channel=channel,
            **fields,
        )

    def put(
        self,
        kind: str,
        origin: str,
        room_type: str,
        block: int,
        slot: int,
        *,
        nights: int | None = None,
        rooms: int = 1,
        channel: str = "direct",
        **fields: Any,
    ) -> Unit:
        if nights is None:
            nights = 3 if block == IN_HOUSE_BLOCK else self.rng.choice((1, 2, 3))
        unit = Unit(
            label=f"{kind}#{len(self.units)}",
            kind=kind,
            origin=origin,
            room_type=room_type,
            block=block,
            nights=nights,
            rooms=rooms,
            channel=channel,
            slot=slot,
            **fields,
        )
        if unit.channel in OTA and unit.code is None and origin != "pms":
            unit.code = self.code(unit.channel)
        self.guest(unit)
        self.units.append(unit)
        return unit

    def ota(self) -> str:
        return self.rng.choices(list(OTA), [45, 32, 23])[0]


def plan(seed: int) -> Catalogue:
    """307 Beds24 bookings, 127 PMS reservations, 57 of them the same stays."""
    cat = Catalogue(seed)
    add = cat.add
    # The same stays on both sides (57).
    for i, channel in enumerate(["booking"] * 8 + ["expedia"] * 7 + ["airbnb"] * 5):
        unit = add(
            "ota code in PMS",
            "both",
            blocks=[IN_HOUSE_BLOCK] if i == 3 else FUTURE_BLOCKS,
            match="code",
            channel=channel,
            nights=2 if i == 2 else None,
        )
        code_diffs: list[dict[str, Any]] = [
            {"adults": 3},
            {"guest_email": "typo@example.invalid"},
            {"+night": 1},
        ]
        unit.pms_diff = code_diffs[i] if i < 3 else {}
    for i, channel in enumerate(["booking"] * 6 + ["expedia"] * 5 + ["airbnb"] * 4):
        unit = add(
            "ota linked by Beds24 id",
            "both",
            blocks=[IN_HOUSE_BLOCK] if i == 5 else FUTURE_BLOCKS,
            match="id",
            channel=channel,
            made_by="beds24",
        )
        unit.pms_diff = {"adults": 3} if i == 0 else {}
    for i in range(10):
        unit = add(
            "direct linked by Beds24 id",
            "both",
            match="id",
            made_by=None,
            nights=2 if i == 0 else None,
            beds24_status="confirmed",
        )
        unit.pms_diff = {"+night": 1} if i == 0 else {}
    for i in range(12):
        unit = add(
            "made by an earlier connection (our reference)",
            "both",
            match="ref",
            nights=2 if i == 0 else None,
            beds24_status="confirmed",
            beds24_notes="Quiet room" if i == 1 else "",
        )
        ref_diffs: list[dict[str, Any]] = [
            {"+night": 1},
            {"notes": "VIP, quiet room on a high floor"},
        ]
        unit.pms_diff = ref_diffs[i] if i < 2 else {}
    # Beds24 only (250 bookings).
    for i in range(25):
        status = "cancelled" if i >= 20 else ("confirmed" if i >= 15 else "new")
        add(
            "past",
            "beds24",
            blocks=PAST_BLOCKS,
            channel="direct" if 15 <= i < 20 else cat.ota(),
            beds24_status=status,
        )
    for i in range(6):
        add("in-house", "beds24", blocks=[IN_HOUSE_BLOCK], channel="direct" if i < 2 else cat.ota())
    for i in range(136):
        add("ota", "beds24", channel=cat.ota(), beds24_status="confirmed" if i % 5 == 0 else "new")
    for _ in range(5):
        add("ota request", "beds24", channel="booking", beds24_status="request")
    for _ in range(25):
        add("direct (typed into Beds24)", "beds24", beds24_status="confirmed")
    for _ in range(15):
        add("ota cancelled", "beds24", channel=cat.ota(), beds24_status="cancelled")
    for _ in range(8):
        add("owner block", "beds24", beds24_status="black")
    for _ in range(6):
        add("inquiry", "beds24", beds24_status="inquiry")
    for group, size in enumerate((3, 2, 2, 3, 2)):
        block = cat.rng.choice([b for b in FUTURE_BLOCKS if b != FULL_BLOCK])
        channel = ("booking", "expedia")[group % 2]
        code = cat.code(channel)
        nights = cat.rng.choice((1, 2, 3))
        for _ in range(size):
            room_type = cat.rng.choice(("Double", "Twin", "Suite"))
            cat.put(
                "ota group member",
                "beds24",
                room_type,
                block,
                cat.slots.take(room_type, block),
                nights=nights,
                channel=channel,
                code=code,
                group=group,
            )
    for rooms in (2, 2, 2, 2, 2, 3):
        add("ota roomQty", "beds24", rooms=rooms, channel=cat.ota(), room_type="Double")
    for _ in range(6):  # the Family rooms all taken on these nights
        cat.put(
            "ota in a full room type",
            "beds24",
            "Family",
            FULL_BLOCK,
            cat.slots.take("Family", FULL_BLOCK),
            nights=3,
            channel=cat.ota(),
            reserved=True,
        )
    # The PMS only (70 reservations).
    for _ in range(44):
        add("desk", "pms")
    for _ in range(5):
        add("desk tentative", "pms", pms_status="tentative")
    for _ in range(5):
        add("desk cancelled", "pms", pms_status="cancelled")
    for _ in range(8):
        add("desk past", "pms", blocks=PAST_BLOCKS)
    for _ in range(3):
        add("desk in-house", "pms", blocks=[IN_HOUSE_BLOCK])
    for _ in range(2):
        add("room out of order", "pms", pms_status="blocked")
    add("desk stay of two rooms", "pms", rooms=2, room_type="Twin")
    add("desk inquiry", "pms", pms_status="inquiry")
    return cat


def counts(cat: Catalogue) -> tuple[int, int, int]:
    beds24 = sum(1 for u in cat.units if u.origin in ("beds24", "both"))
    pms = sum(u.rooms for u in cat.units if u.origin in ("pms", "both"))
    same = sum(1 for u in cat.units if u.origin == "both")
    return beds24, pms, same


# -- talking to the stack -------------------------------------------------------------------
class Hotel:
    def __init__(self, http: httpx.AsyncClient, pool: asyncpg.Pool, cat: Catalogue) -> None:
        self.http = http
        self.pool = pool
        self.cat = cat
        self.account: dict[str, Any] = {}
        self.beds24_property = 0
        self.beds24_rooms: dict[str, int] = {}
        self.property_id: UUID | None = None
        self.room_types: dict[str, UUID] = {}
        self.rooms: dict[str, list[UUID]] = {}
        self.room_type_of: dict[UUID, str] = {}
        self.marks: list[tuple[str, int]] = []  # (phase, index in the sandbox's call log)
        self.timeline: list[str] = []

    async def call(self, method: str, url: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, url, **kwargs)
        if response.status_code >= 400:
            raise StackFailed(f"{method} {url} answered {response.status_code}: {response.text}")
        return response.json() if response.content else None

    async def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        return await self.call(method, f"{ADMIN}{path}", headers=HEADERS, **kwargs)

    async def sandbox(self, method: str, path: str, **kwargs: Any) -> Any:
        return await self.call(method, f"{SANDBOX}/_sandbox{path}", **kwargs)

    async def mark(self, phase: str) -> None:
        calls = await self.sandbox("GET", "/calls")
        self.marks.append((phase, len(calls)))

    # -- Beds24 before connecting --
    async def seed_beds24(self) -> None:
        self.account = await self.sandbox("POST", "/accounts", json={})
        prop = await self.sandbox(
            "POST",
            "/properties",
            json={
                "account_id": self.account["account_id"],
                "name": "Hotel Meridian",
                "rooms": [{"name": name, "qty": qty} for name, qty, _ in ROOM_TYPES],
            },
        )
        self.beds24_property = prop["id"]
        self.beds24_rooms = {r["name"]: r["id"] for r in prop["rooms"]}
        groups: dict[int, list[Unit]] = defaultdict(list)
        for unit in self.cat.units:
            if unit.origin == "pms":
                continue
            if unit.match == "ref":
                unit.reservation_ids = [uuid4()]
            if unit.group is not None:
                groups[unit.group].append(unit)
                continue
            booking = await self.sandbox("POST", "/guest-bookings", json=self.booking_body(unit))
            unit.beds24_ids = [booking["id"]]
            if unit.beds24_status == "cancelled":
                await self.sandbox("POST", f"/guest-bookings/{booking['id']}/cancel", json={})
        for members in groups.values():
            made = await self.sandbox("POST", "/guest-groups", json=self.group_body(members))
            for unit, booking in zip(members, made, strict=True):
                unit.beds24_ids = [booking["id"]]

    def booking_body(self, unit: Unit, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "roomId": self.beds24_rooms[unit.room_type],
            "arrival": unit.arrival.isoformat(),
            "departure": unit.departure.isoformat(),
            "status": "new" if unit.beds24_status == "cancelled" else unit.beds24_status,
            "channel": unit.channel,
            "firstName": unit.first,
            "lastName": "Owner" if unit.beds24_status == "black" else unit.last,
            "email": unit.email,
            "numAdult": unit.adults,
            "numChild": 0,
            "price": unit.price,
            "notes": unit.beds24_notes,
        }
        if unit.channel in OTA:
            body.update(
                apiReference=unit.code,
                referer=OTA[unit.channel][0],
                apiSource=OTA[unit.channel][0],
            )
        else:
            body.update(apiReference="", referer="", apiSource="")
        if unit.match == "ref":
            reference = f"pms-{unit.reservation_ids[0]}"
            body["apiReference"] = reference
            body["infoItems"] = [{"code": REFERENCE_INFO_CODE, "text": reference}]
        if unit.rooms > 1:
            body["roomQty"] = unit.rooms
        return {**body, **extra}

    def group_body(self, members: list[Unit], **extra: Any) -> dict[str, Any]:
        lead = members[0]
        shared = self.booking_body(lead)
        for key in ("roomId", "roomQty"):
            shared.pop(key, None)
        shared["rooms"] = [{"roomId": self.beds24_rooms[m.room_type]} for m in members]
        return {**shared, **extra}

    # -- the PMS before connecting --
    async def seed_pms(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            self.property_id = await conn.fetchval(
                "INSERT INTO hotel_settings (name) VALUES ('Hotel Meridian') RETURNING id"
            )
            for name, qty, floor in ROOM_TYPES:
                type_id = await conn.fetchval(
                    "INSERT INTO room_types (property_id, name) VALUES ($1, $2) RETURNING id",
                    self.property_id,
                    name,
                )
                self.room_types[name] = type_id
                self.rooms[name] = []
                for n in range(1, qty + 1):
                    room = await conn.fetchval(
                        "INSERT INTO rooms (property_id, room_type_id, name) VALUES ($1, $2, $3) "
                        "RETURNING id",
                        self.property_id,
                        type_id,
                        f"{floor}{n:02d}",
                    )
                    self.rooms[name].append(room)
                    self.room_type_of[room] = name
            for unit in self.cat.units:
                if unit.origin == "beds24":
                    continue
                await self.insert_pms(conn, unit)

    async def insert_pms(self, conn: Any, unit: Unit) -> None:
        stay_id = None
        if unit.origin == "pms" and unit.rooms > 1:
            stay_id = await conn.fetchval(
                "INSERT INTO stays (property_id) VALUES ($1) RETURNING id", self.property_id
            )
        diff = dict(unit.pms_diff)
        departure = unit.departure + timedelta(days=diff.pop("+night", 0))
        ids = unit.reservation_ids or [uuid4() for _ in range(unit.rooms)]
        for index, reservation_id in enumerate(ids):
            columns: dict[str, Any] = {
                "id": reservation_id,
                "property_id": self.property_id,
                "room_id": self.rooms[unit.room_type][unit.slot + index],
                "arrival": unit.arrival,
                "departure": departure,
                "status": unit.pms_status
                if unit.origin == "pms"
                else BEDS24_TO_PMS_STATUS[unit.beds24_status],
                "guest_first_name": unit.first,
                "guest_last_name": "Maintenance" if unit.pms_status == "blocked" else unit.last,
                "guest_email": unit.email,
                "adults": unit.adults,
                "children": 0,
                "price": Decimal(str(unit.price)),
                "notes": unit.beds24_notes or None,
                "made_by": unit.made_by,
                "stay_id": stay_id,
            }
            if unit.match == "code":
                columns.update(channel=OTA[unit.channel][0], channel_reference=unit.code)
            if unit.match == "id":
                columns.update(beds24_booking_id=unit.beds24_ids[0])
                if unit.channel in OTA:
                    columns.update(channel=OTA[unit.channel][0], channel_reference=unit.code)
            columns.update(diff)
            names = list(columns)
            await conn.execute(
                f"INSERT INTO reservations ({', '.join(names)}) VALUES "  # noqa: S608
                f"({', '.join(f'${i + 1}' for i in range(len(names)))})",
                *columns.values(),
            )
        unit.reservation_ids = ids

    # -- onboarding through the admin API --
    async def onboard(self) -> None:
        registered = await self.admin(
            "POST",
            "/admin/properties",
            json={
                "property_id": str(self.property_id),
                "beds24_property_id": self.beds24_property,
                "invite_code": self.account["invite_code"],
            },
        )
        webhook = registered["webhook"]
        await self.sandbox(
            "PATCH",
            f"/properties/{self.beds24_property}",
            json={
                "webhook": {
                    "urls": [webhook["url"]],
                    "custom_header": webhook["custom_header"],
                    "version": "twoWithPersonalData",
                }
            },
        )
        await self.admin(
            "PUT",
            f"/admin/properties/{self.property_id}/mappings",
            json={
                "mappings": [
                    {
                        "mapping_type": "room_type",
                        "internal_id": str(self.room_types[name]),
                        "external_id": str(self.beds24_rooms[name]),
                    }
                    for name, _, _ in ROOM_TYPES
                ]
            },
        )

    async def request_run(self, kind: str) -> str:
        path = "initial-sync" if kind == "initial" else "reconcile"
        run = await self.admin("POST", f"/admin/properties/{self.property_id}/{path}")
        return str(run["id"])

    async def run_of(self, run_id: str) -> dict[str, Any]:
        run: dict[str, Any] = await self.admin("GET", f"/admin/sync-runs/{run_id}")
        return run

    async def busy(self) -> int:
        async with self.pool.acquire() as conn:
            n: int = await conn.fetchval(
                "SELECT count(*) FROM channel_events WHERE property_id = $1 "
                "AND status IN ('received', 'processing')",
                self.property_id,
            )
        return n

    async def settle(self, run_id: str | None, what: str) -> dict[str, Any] | None:
        """Wait until the run is done and no event of the property is in flight for 2 s."""
        started = time.monotonic()
        quiet_since: float | None = None
        shown = 0.0
        run = None
        while True:
            if run_id is not None:
                run = await self.run_of(run_id)
            done = run is None or run["status"] in ("done", "failed")
            in_flight = await self.busy()
            now = time.monotonic()
            if done and in_flight == 0:
                quiet_since = quiet_since or now
                if now - quiet_since >= 2.0:
                    return run
            else:
                quiet_since = None
            if now - started > SETTLE_TIMEOUT_S:
                raise StackFailed(
                    f"{what}: not settled after {SETTLE_TIMEOUT_S:.0f}s "
                    f"(run {run and run['status']}, {in_flight} events in flight)"
                )
            if now - started - shown >= 10:
                shown = now - started
                say(f"    … {what}: run {run and run['status']}, {in_flight} events in flight")
            await asyncio.sleep(0.25)  # polling under the deadline above

    # -- both sides as they are --
    async def beds24_bookings(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self.sandbox(
            "GET", "/bookings", params={"propertyId": self.beds24_property}
        )
        return found

    async def reservations(self) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return list(
                await conn.fetch(
                    "SELECT * FROM reservations WHERE property_id = $1", self.property_id
                )
            )

    async def drift(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        while True:
            page = await self.admin(
                "GET",
                "/admin/drift",
                params={"property_id": str(self.property_id), "limit": 500, "offset": len(records)},
            )
            records += page["drift"]
            if len(records) >= page["total"] or not page["drift"]:
                return records

    async def events_count(self) -> int:
        async with self.pool.acquire() as conn:
            n: int = await conn.fetchval(
                "SELECT count(*) FROM channel_events WHERE property_id = $1", self.property_id
            )
        return n


# -- changes during the sync ---------------------------------------------------------------
def pick(cat: Catalogue, predicate: Callable[[Unit], bool]) -> Unit:
    options = [u for u in cat.units if not u.reserved and not u.changes and predicate(u)]
    unit = cat.rng.choice(options)
    unit.reserved = True
    return unit


async def desk_update(hotel: Hotel, reservation: UUID, sql_set: str, *args: Any) -> None:
    async with hotel.pool.acquire() as conn:
        await conn.execute(
            f"UPDATE reservations SET {sql_set} WHERE id = $1",  # noqa: S608
            reservation,
            *args,
        )


async def free_room(hotel: Hotel, room_type: str, arrival: date, departure: date) -> UUID:
    async with hotel.pool.acquire() as conn:
        room: UUID = await conn.fetchval(
            """SELECT r.id FROM rooms r WHERE r.room_type_id = $1 AND NOT EXISTS (
                   SELECT 1 FROM reservations x WHERE x.room_id = r.id
                     AND x.arrival < $3 AND x.departure > $2) ORDER BY r.name LIMIT 1""",
            hotel.room_types[room_type],
            arrival,
            departure,
        )
    return room


class SyncWaves:
    """Guests (Beds24, webhooks delivered) and the desk (PMS writes, captured) change bookings
    while the initial sync runs: wave 1 as it is requested, wave 2 once it has read a page,
    wave 3 after its last step while its events are in flight."""

    def __init__(self, hotel: Hotel) -> None:
        self.hotel = hotel
        self.cat = hotel.cat
        self.done: list[str] = []

    def note(self, wave: int, unit: Unit, what: str) -> None:
        unit.changes.append(what)
        self.done.append(f"wave {wave}: {what} [{unit.label}]")

    async def wave1(self) -> None:
        h, cat = self.hotel, self.cat
        block = NEW_BLOCKS[0]
        new = cat.put(
            "ota booked during the sync",
            "beds24",
            "Double",
            block,
            cat.slots.take("Double", block),
            channel="booking",
            new_during_sync=True,
        )
        made = await h.sandbox("POST", "/guest-bookings", json=h.booking_body(new))
        new.beds24_ids = [made["id"]]
        self.note(1, new, f"guest books Beds24 booking {made['id']} (booking.com)")
        walk_in = cat.put(
            "desk walk-in during the sync",
            "pms",
            "Suite",
            NEW_BLOCKS[1],
            cat.slots.take("Suite", NEW_BLOCKS[1]),
            new_during_sync=True,
        )
        async with h.pool.acquire() as conn:
            await h.insert_pms(conn, walk_in)
        self.note(1, walk_in, f"desk books reservation {walk_in.reservation_ids[0]}")
        shorter = pick(cat, lambda u: u.kind == "ota" and u.nights >= 2)
        shorter.nights -= 1
        await h.sandbox(
            "PATCH",
            f"/guest-bookings/{shorter.beds24_ids[0]}",
            json={"departure": shorter.departure.isoformat()},
        )
        self.note(1, shorter, f"guest shortens Beds24 booking {shorter.beds24_ids[0]} by a night")
        coded = pick(cat, lambda u: u.match == "code" and not u.pms_diff and u.block > 0)
        await desk_update(h, coded.reservation_ids[0], "guest_phone = $2", "+44 20 7946 0018")
        self.note(
            1,
            coded,
            f"desk adds a phone number to reservation {coded.reservation_ids[0]} "
            f"(carries {OTA[coded.channel][0]} code {coded.code}, not linked yet)",
        )

    async def wave2(self) -> None:
        h, cat = self.hotel, self.cat
        gone = pick(cat, lambda u: u.kind == "ota")
        await h.sandbox("POST", f"/guest-bookings/{gone.beds24_ids[0]}/cancel", json={})
        gone.beds24_status = "cancelled"
        self.note(2, gone, f"guest cancels Beds24 booking {gone.beds24_ids[0]}")
        more = pick(cat, lambda u: u.match == "code" and not u.pms_diff and u.block > 0)
        more.adults = 3
        await h.sandbox("PATCH", f"/guest-bookings/{more.beds24_ids[0]}", json={"numAdult": 3})
        self.note(
            2,
            more,
            f"guest adds an adult to Beds24 booking {more.beds24_ids[0]} "
            f"(code {more.code}, matched by code)",
        )
        ours = pick(cat, lambda u: u.match == "ref" and not u.pms_diff)
        await desk_update(h, ours.reservation_ids[0], "notes = $2", "Airport pick-up 14:00")
        self.note(
            2,
            ours,
            f"desk adds notes to reservation {ours.reservation_ids[0]} (Beds24 "
            f"booking {ours.beds24_ids[0]} carries its reference, not linked yet)",
        )
        longer = pick(cat, lambda u: u.kind == "desk" and u.nights <= 3 and u.block > 0)
        longer.nights += 1
        await desk_update(h, longer.reservation_ids[0], "departure = $2", longer.departure)
        self.note(2, longer, f"desk extends reservation {longer.reservation_ids[0]} by a night")

    async def wave3(self) -> None:
        h, cat = self.hotel, self.cat
        block = NEW_BLOCKS[2]
        members = [
            cat.put(
                "ota group booked during the sync",
                "beds24",
                t,
                block,
                cat.slots.take(t, block),
                nights=2,
                channel="expedia",
                group=100,
                new_during_sync=True,
            )
            for t in ("Double", "Twin")
        ]
        code = cat.code("expedia")
        for m in members:
            m.code = code
        made = await h.sandbox("POST", "/guest-groups", json=h.group_body(members))
        for unit, booking in zip(members, made, strict=True):
            unit.beds24_ids = [booking["id"]]
        self.note(3, members[0], f"guest books an Expedia group {[b['id'] for b in made]}")
        member = pick(cat, lambda u: u.kind == "ota group member" and u.group == 0)
        await h.sandbox("POST", f"/guest-bookings/{member.beds24_ids[0]}/cancel", json={})
        member.beds24_status = "cancelled"
        self.note(3, member, f"guest cancels group member {member.beds24_ids[0]}")
        dropped = pick(cat, lambda u: u.kind == "desk" and u.block > 0)
        await desk_update(h, dropped.reservation_ids[0], "status = 'cancelled'")
        dropped.pms_status = "cancelled"
        dropped.cancelled_in_pms_during_sync = True
        self.note(3, dropped, f"desk cancels reservation {dropped.reservation_ids[0]}")
        legacy = pick(
            cat, lambda u: u.match == "id" and u.channel in OTA and not u.pms_diff and u.block > 0
        )
        await desk_update(h, legacy.reservation_ids[0], "notes = $2", "Late check-in")
        self.note(
            3,
            legacy,
            f"desk adds notes to reservation {legacy.reservation_ids[0]} "
            f"(linked to Beds24 booking {legacy.beds24_ids[0]})",
        )


# -- rule 1: every stay exactly once on each side -------------------------------------------
def reference_of(booking: dict[str, Any]) -> UUID | None:
    ours = reservation_of_reference(booking.get("apiReference"))
    if ours is not None:
        return ours
    for item in booking.get("infoItems") or []:
        if isinstance(item, dict) and item.get("code") == REFERENCE_INFO_CODE:
            return reservation_of_reference(item.get("text"))
    return None


@dataclass
class Census:
    checked: int = 0
    wrong: list[str] = field(default_factory=list)
    stray_bookings: list[int] = field(default_factory=list)
    stray_reservations: list[UUID] = field(default_factory=list)
    links_checked: int = 0
    unlinked: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    totals: dict[str, int] = field(default_factory=dict)
    tally: Counter[str] = field(default_factory=Counter)
    linked: Counter[str] = field(default_factory=Counter)  # per key: linked as expected
    keyed: Counter[str] = field(default_factory=Counter)  # per key: stays

    def figures(self) -> dict[str, Any]:
        return {
            **self.totals,
            "stays": self.checked,
            **{k: self.tally[k] for k in sorted(self.tally)},
            "linked by key": {k: f"{self.linked[k]}/{self.keyed[k]}" for k in sorted(self.keyed)},
        }

    @property
    def bad_links(self) -> list[str]:
        """One line per key whose stays are not all linked to their own Beds24 booking."""
        return [
            f"key {key}: {len(missed)} of {self.keyed[key]} PMS reservations not linked to "
            f"their Beds24 booking (booking → linked to): {', '.join(missed[:8])}"
            + (f", … {len(missed) - 8} more" if len(missed) > 8 else "")
            for key, missed in sorted(self.unlinked.items())
        ]


def census(
    cat: Catalogue, bookings: list[dict[str, Any]], reservations: list[asyncpg.Record]
) -> Census:
    """Attribute every Beds24 booking and PMS reservation to the stay it stands for (by
    Beds24 id, by our reference, by the rooms of a roomQty booking), then count."""
    result = Census()
    by_ref: dict[UUID, list[int]] = defaultdict(list)
    for b in bookings:
        ref = reference_of(b)
        if ref is not None:
            by_ref[ref].append(b["id"])
    res_by_booking: dict[int, list[UUID]] = defaultdict(list)
    for r in reservations:
        for key in (r["beds24_booking_id"], r["beds24_qty_booking_id"]):
            if key is not None:
                res_by_booking[key].append(r["id"])
    existing = {r["id"] for r in reservations}
    beds24_ids = {b["id"] for b in bookings}
    seen_b: set[int] = set()
    seen_r: set[UUID] = set()
    for unit in cat.units:
        held_b = {i for i in unit.beds24_ids if i in beds24_ids}
        held_r = {i for i in unit.reservation_ids if i in existing}
        for _ in range(3):  # to a fixed point: each side names the other
            for reservation_id in list(held_r):
                held_b.update(by_ref.get(reservation_id, []))
            for booking_id in list(held_b):
                held_r.update(res_by_booking.get(booking_id, []))
        seen_b |= held_b
        seen_r |= held_r
        (b_lo, b_hi), (r_lo, r_hi) = unit.expected()
        result.checked += 1
        for side, n, lo, hi in (
            ("Beds24", len(held_b), b_lo, b_hi),
            ("PMS", len(held_r), r_lo, r_hi),
        ):
            if n > hi:
                result.tally[f"doubled in {side}"] += 1
            elif n < lo:
                result.tally[f"missing in {side}"] += 1
        if not (b_lo <= len(held_b) <= b_hi and r_lo <= len(held_r) <= r_hi):
            result.wrong.append(
                f"{unit.label} ({unit.room_type} {unit.arrival}..{unit.departure}, "
                f"Beds24 {unit.beds24_status}/PMS {unit.pms_status}): Beds24 holds "
                f"{len(held_b)} {sorted(held_b)} (expected {b_lo}..{b_hi}), PMS holds "
                f"{len(held_r)} (expected {r_lo}..{r_hi})"
                + (f"; changes: {'; '.join(unit.changes)}" if unit.changes else "")
            )
        if unit.match and unit.reservation_ids and unit.beds24_ids and not unit.deleted_in_pms:
            result.links_checked += 1
            result.keyed[unit.match] += 1
            linked = {
                r["beds24_booking_id"] for r in reservations if r["id"] == unit.reservation_ids[0]
            }
            if linked == {unit.beds24_ids[0]}:
                result.linked[unit.match] += 1
            else:
                now = next(iter(linked), None) if linked else None
                result.unlinked[unit.match].append(f"{unit.beds24_ids[0]} → {now or 'nothing'}")
    result.stray_bookings = sorted(beds24_ids - seen_b)
    result.stray_reservations = sorted(r["id"] for r in reservations if r["id"] not in seen_r)
    result.totals = {"Beds24 bookings": len(bookings), "PMS reservations": len(reservations)}
    return result


# -- rule 2: conflicts ------------------------------------------------------------------------
STAY_FIELDS = ("arrival", "departure", "status", "room", "adults", "children", "rooms")
SYNCED = {
    f.column: f.beds24
    for f in pms_fields.FIELDS
    if f.outbound and f.kind not in (pms_fields.Kind.PLACEMENT, pms_fields.Kind.GROUP)
}


def _plain(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


class Sides:
    """Both sides of a Beds24 booking as they are now, compared as the sync compares."""

    def __init__(
        self,
        hotel: Hotel,
        bookings: list[dict[str, Any]],
        reservations: list[asyncpg.Record],
    ) -> None:
        self.hotel = hotel
        self.bookings = {b["id"]: b for b in bookings}
        self.room1 = {r["beds24_booking_id"]: r for r in reservations if r["beds24_booking_id"]}
        self.extra_rooms: Counter[int] = Counter(
            r["beds24_qty_booking_id"]
            for r in reservations
            if r["beds24_qty_booking_id"] and r["status"] != "cancelled"
        )

    def beds24_room_of(self, r: asyncpg.Record) -> str | None:
        if r["room_id"] is not None:
            return str(self.hotel.beds24_rooms[self.hotel.room_type_of[r["room_id"]]])
        room: str | None = r["beds24_room_id"]
        return room

    def values(self, booking_id: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
        b, r = self.bookings.get(booking_id), self.room1.get(booking_id)
        if b is None or r is None:
            return None
        beds24 = {
            "arrival": b["arrival"],
            "departure": b["departure"],
            "status": BEDS24_TO_PMS_STATUS[b["status"]],
            "room": str(b["roomId"]),
            "adults": _plain(b.get("numAdult")),
            "children": _plain(b.get("numChild")),
            "rooms": b.get("roomQty") or 1,
        }
        pms = {
            "arrival": r["arrival"].isoformat(),
            "departure": r["departure"].isoformat(),
            "status": r["status"],
            "room": self.beds24_room_of(r),
            "adults": _plain(r["adults"]),
            "children": _plain(r["children"]),
            "rooms": 1 + self.extra_rooms[booking_id],
        }
        for column, name in SYNCED.items():
            if column in beds24:
                continue
            value = b.get("country2") or b.get("country") if name == "country" else b.get(name)
            beds24[column] = _plain(value)
            pms[column] = _plain(r[column])
        return beds24, pms

    def differing(self, booking_id: int) -> list[str]:
        both = self.values(booking_id)
        if both is None:
            return []
        beds24, pms = both
        if beds24["status"] == "cancelled" and pms["status"] == "cancelled":
            return []
        return [
            k
            for k in beds24
            if beds24[k] != pms[k]
            and (k in STAY_FIELDS or (beds24[k] is not None and pms[k] is not None))
        ]


def booking_of(subject: str) -> int | None:
    parts = subject.split()
    return int(parts[1]) if len(parts) == 2 and parts[0] == "booking" else None


def judge_drift(records: list[dict[str, Any]], sides: Sides) -> tuple[int, list[str]]:
    """Each record against both sides now; (records judged, what is wrong)."""
    wrong: list[str] = []
    for d in records:
        kind, status, subject = d["kind"], d["status"], d["subject"]
        booking = booking_of(subject)
        where = f"{kind} {status} '{subject}'"
        if kind in ("booking_differs", "match_differs"):
            fields = sorted(set(d["beds24_value"] or {}) | set(d["pms_value"] or {}))
            if not d["beds24_value"] or not d["pms_value"] or not fields:
                wrong.append(f"{where}: does not hold both values ({d})")
                continue
            assert booking is not None
            now = sides.differing(booking)
            still = [f for f in fields if f in now]
            if status == "repaired" and still:
                wrong.append(
                    f"{where}: repaired ({d['resolution']}) but {still} still differ "
                    f"(now {sides.values(booking)})"
                )
            if status == "open" and not still:
                wrong.append(
                    f"{where}: open for an operator, but a side was overwritten: "
                    f"{fields} now agree; recorded Beds24 {d['beds24_value']} / PMS "
                    f"{d['pms_value']}"
                )
            if status == "resolved" and still:
                wrong.append(f"{where}: resolved as '{d['resolution']}' but {still} still differ")
        elif kind == "missing_in_pms" and booking is not None:
            b = sides.bookings.get(booking)
            held = booking in sides.room1
            if status == "open" and (b is None or b["status"] == "cancelled" or held):
                wrong.append(f"{where}: open, but Beds24 {b and b['status']}, PMS holds {held}")
            if status == "repaired" and not held:
                wrong.append(f"{where}: repaired, but no reservation holds it")
        elif status == "repaired" and not d.get("event_id"):
            wrong.append(f"{where}: repaired without an event")
    return len(records), wrong


def _open_names(records: list[dict[str, Any]], booking: int) -> bool:
    return any(
        r["status"] == "open" and booking_of(r["subject"]) == booking
        for r in records
        if r["kind"] in ("booking_differs", "match_differs")
    )


def uncovered(records: list[dict[str, Any]], sides: Sides) -> list[str]:
    """Linked stays that differ now with no open record naming them."""
    found = []
    for booking_id in sorted(sides.room1):
        fields = sides.differing(booking_id)
        if fields and not _open_names(records, booking_id):
            both = sides.values(booking_id)
            assert both is not None
            shown = {f: (both[0][f], both[1][f]) for f in fields}
            found.append(f"booking {booking_id}: {shown} (Beds24, PMS) and no open record")
    return found


# -- the run -------------------------------------------------------------------------------
@dataclass
class Rule:
    name: str
    count: int
    failures: list[str]

    @property
    def ok(self) -> bool:
        return not self.failures


def show(label: str, value: Any) -> None:
    say(f"    {label}: {json.dumps(value, default=str, sort_keys=True)}")


async def wait_for_stage(
    hotel: Hotel, run_id: str, wanted: Callable[[dict[str, Any]], bool]
) -> str:
    started = time.monotonic()
    while time.monotonic() - started < 60:
        run = await hotel.run_of(run_id)
        if wanted(run):
            return f"{run['status']}/{run['stage']} pages={run['progress'].get('pages', 0)}"
        await asyncio.sleep(0.02)  # polling under the deadline above
    raise StackFailed("the initial sync never reached the stage awaited")


async def scenario(hotel: Hotel, cat: Catalogue) -> list[Rule]:
    rules: list[Rule] = []
    beds24_n, pms_n, same_n = counts(cat)
    say("\n▶ The hotel before connecting")
    await hotel.seed_beds24()
    await hotel.seed_pms()
    kinds_b = Counter(u.kind for u in cat.units if u.origin != "pms")
    kinds_p = Counter(u.kind for u in cat.units if u.origin == "pms")
    show("rooms", {name: qty for name, qty, _ in ROOM_TYPES})
    show("Beds24 bookings", beds24_n)
    show("  by kind", dict(kinds_b))
    show("  by channel", dict(Counter(u.channel for u in cat.units if u.origin != "pms")))
    show("  by status", dict(Counter(u.beds24_status for u in cat.units if u.origin != "pms")))
    show("PMS reservations", pms_n)
    show("  PMS only, by kind", dict(kinds_p))
    show(
        "  the same stays",
        {**Counter(u.match for u in cat.units if u.origin == "both"), "total": same_n},
    )
    show("  held differently at connection", {u.label: u.pms_diff for u in cat.units if u.pms_diff})
    if (beds24_n, pms_n, same_n) != (307, 127, 57):
        raise StackFailed(f"the plan makes {(beds24_n, pms_n, same_n)}, not (307, 127, 57)")

    say("\n▶ Onboarding through the admin API (invite code, mappings)")
    await hotel.mark("onboarding")
    t0 = time.monotonic()
    await hotel.onboard()
    await hotel.settle(None, "onboarding")
    show("registered, webhook set, 4 room types mapped in", f"{time.monotonic() - t0:.1f}s")

    say("\n▶ Initial sync, with guests and the desk changing bookings meanwhile")
    await hotel.mark("initial sync")
    t0 = time.monotonic()
    run_id = await hotel.request_run("initial")
    waves = SyncWaves(hotel)
    at1 = f"{(await hotel.run_of(run_id))['status']}"
    await waves.wave1()
    at2 = await wait_for_stage(
        hotel, run_id, lambda r: r["progress"].get("pages", 0) >= 1 or r["status"] == "done"
    )
    await waves.wave2()
    at3 = await wait_for_stage(hotel, run_id, lambda r: r["status"] == "done")
    in_flight = await hotel.busy()
    await waves.wave3()
    for change in waves.done:
        say(f"    {change}")
    show(
        "the run when each wave began",
        {"wave 1": at1, "wave 2": at2, "wave 3": f"{at3}, {in_flight} events in flight"},
    )
    initial = await hotel.settle(run_id, "initial sync")
    assert initial is not None
    show("GET /admin/sync-runs/{id}", {"status": initial["status"], **initial["progress"]})
    show("settled in", f"{time.monotonic() - t0:.1f}s")
    bookings, reservations = await hotel.beds24_bookings(), await hotel.reservations()
    after_initial = census(cat, bookings, reservations)
    show("after the initial sync", after_initial.figures())
    failed = await failed_events(hotel)
    show("events failed", len(failed))
    for f in failed[:10]:
        say(f"      ! {f}")
    rules.append(
        Rule(
            "1. every stay exactly once on each side after the initial sync",
            after_initial.checked + after_initial.links_checked,
            after_initial.wrong
            + after_initial.bad_links
            + [f"Beds24 booking {b} stands for no stay" for b in after_initial.stray_bookings]
            + [f"reservation {r} stands for no stay" for r in after_initial.stray_reservations],
        )
    )
    initial_drift = await hotel.drift()
    show(
        "drift after the initial sync",
        dict(Counter(f"{d['kind']}/{d['status']}" for d in initial_drift)),
    )

    say("\n▶ Drift on both sides")
    await hotel.mark("drift")
    targets = await make_drift(hotel, cat)
    await hotel.settle(None, "drift")

    say("\n▶ Reconciliation 1")
    await hotel.mark("reconcile 1")
    t0 = time.monotonic()
    r1 = await hotel.settle(await hotel.request_run("reconcile"), "reconcile 1")
    assert r1 is not None
    show("GET /admin/sync-runs/{id}", {"status": r1["status"], **r1["progress"]})
    show("settled in", f"{time.monotonic() - t0:.1f}s")

    say("\n▶ Reconciliation 2")
    await hotel.mark("reconcile 2")
    events_before = await hotel.events_count()
    drift_before = {d["id"]: d for d in await hotel.drift()}
    t0 = time.monotonic()
    r2_id = await hotel.request_run("reconcile")
    r2 = await hotel.settle(r2_id, "reconcile 2")
    assert r2 is not None
    await hotel.mark("end")
    show("GET /admin/sync-runs/{id}", {"status": r2["status"], **r2["progress"]})
    show("settled in", f"{time.monotonic() - t0:.1f}s")
    events_after = await hotel.events_count()
    drift_now = await hotel.drift()
    new_drift = [d for d in drift_now if d["id"] not in drift_before]
    changed_drift = [
        d
        for d in drift_now
        if d["id"] in drift_before and d["status"] != drift_before[d["id"]]["status"]
    ]
    calls = await hotel.sandbox("GET", "/calls")
    phases = phase_calls(hotel, calls)
    r2_writes = [c for c in phases["reconcile 2"] if c["method"] in ("POST", "DELETE")]

    say("\n▶ Both sides at the end")
    bookings, reservations = await hotel.beds24_bookings(), await hotel.reservations()
    final = census(cat, bookings, reservations)
    show("totals", final.figures())
    sides = Sides(hotel, bookings, reservations)
    show("drift records", dict(Counter(f"{d['kind']}/{d['status']}" for d in drift_now)))
    proposals: dict[str, list[str]] = defaultdict(list)
    for d in sorted(drift_now, key=lambda d: (d["status"], d["kind"], d["subject"])):
        if d["kind"] in ("availability_differs", "calendar_differs") and d["status"] != "open":
            continue
        if d["kind"] == "possible_match":  # one line for them all, below
            proposals[d["status"]].append(d["subject"].split()[-1])
            continue
        say(
            f"      {d['status']:9} {d['kind']:16} {d['subject']:18} "
            f"beds24={_short(d['beds24_value'])} pms={_short(d['pms_value'])} "
            f"— {_short(d['resolution'], 100)}"
        )
    for status, ids in proposals.items():
        say(f"      {status:9} possible_match   bookings {', '.join(ids)}")
    failed = await failed_events(hotel)
    show("events failed", len(failed))
    for f in failed[:10]:
        say(f"      ! {f}")

    expectations = await check_targets(hotel, cat, targets, drift_now, sides)
    judged, drift_wrong = judge_drift(drift_now, sides)
    loose = uncovered(drift_now, sides)
    rules.append(
        Rule(
            "1b. every stay exactly once on each side at the end",
            final.checked + final.links_checked,
            final.wrong
            + final.bad_links
            + [f"Beds24 booking {b} stands for no stay" for b in final.stray_bookings]
            + [f"reservation {r} stands for no stay" for r in final.stray_reservations],
        )
    )
    rules.append(
        Rule(
            "2. conflicts repaired by the policy (both values kept) or open with both sides kept",
            judged + len(sides.room1) + len(expectations),
            drift_wrong + loose + [e for e in expectations if e.startswith("!")],
        )
    )
    ota_codes = {u.beds24_ids[0]: u.code for u in cat.units if u.code and u.beds24_ids}
    codes_now = {b["id"]: b.get("apiReference") for b in bookings}
    overwritten = [
        f"Beds24 booking {i}: apiReference {codes_now.get(i)!r}, was the OTA's {code!r}"
        for i, code in sorted(ota_codes.items())
        if i in codes_now and codes_now[i] != code
    ]
    rules.append(
        Rule("3. the OTA's code in apiReference never overwritten", len(ota_codes), overwritten)
    )
    second = []
    if events_after != events_before:
        second.append(f"{events_after - events_before} new event(s)")
    if new_drift:
        second += [f"new drift {d['kind']} {d['status']} '{d['subject']}'" for d in new_drift]
    if changed_drift:
        second += [f"drift {d['kind']} '{d['subject']}' now {d['status']}" for d in changed_drift]
    if r2_writes:
        second.append(f"{len(r2_writes)} write(s) to Beds24: {[c['path'] for c in r2_writes]}")
    rules.append(Rule("4. the second reconciliation writes nothing", 1, second))

    say("\n▶ Beds24 credits per phase (GET /_sandbox/calls, this account)")
    credit_failures = []
    for phase, phase_list in phases.items():
        spent = sum(c["cost"] for c in phase_list)
        by_path = Counter(_call_kind(c) for c in phase_list)
        bound = CREDIT_BOUNDS.get(phase)
        verdict = "" if bound is None else f" (bound {bound:.0f})"
        say(
            f"    {phase:13} {spent:6.2f} credits in {len(phase_list):3} calls{verdict}: "
            f"{dict(by_path)}"
        )
        if bound is not None and spent > bound:
            credit_failures.append(f"{phase}: {spent:.2f} credits > {bound:.0f}")
    rules.append(Rule("5. credits per phase within bounds", len(CREDIT_BOUNDS), credit_failures))

    say("\n▶ What each change made on purpose became")
    for line in expectations:
        say(f"    {line}")
    await calendar_check(hotel, targets)
    return rules


def _short(value: Any, width: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= width else text[: width - 3] + "..."


def _call_kind(call: dict[str, Any]) -> str:
    """`METHOD path`, and for GET /bookings what it asked for."""
    kind = f"{call['method']} {call['path']}"
    if kind == "GET /bookings":
        query = call.get("query") or ""
        if "modifiedFrom" in query:
            kind += " (modified since: poll, or a create search)"
        elif "apiReference" in query:
            kind += " (by reference)"
        elif "id=" in query.replace("propertyId=", "").replace("roomId=", ""):
            kind += " (by id)"
        else:
            kind += " (a page)"
    return kind


def phase_calls(hotel: Hotel, calls: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    account = hotel.account["account_id"]
    phases: dict[str, list[dict[str, Any]]] = {}
    marks = hotel.marks
    for (phase, start), (_, end) in itertools.pairwise(marks):
        phases[phase] = [c for c in calls[start:end] if c.get("account_id") == account]
    return phases


async def failed_events(hotel: Hotel) -> list[str]:
    async with hotel.pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT event_type, entity_external_id, entity_internal_id, last_error
               FROM channel_events WHERE property_id = $1 AND status = 'failed'
               ORDER BY received_at""",
            hotel.property_id,
        )
    return [
        f"{r['event_type']} {r['entity_external_id'] or r['entity_internal_id']}: {r['last_error']}"
        for r in rows
    ]


# -- drift made on purpose, and what it should become ---------------------------------------
@dataclass
class Targets:
    renamed: Unit
    new_name: str
    fewer_rooms: Unit
    deleted: Unit
    edited: Unit
    direct: Unit
    at_connection: list[Unit]


async def make_drift(hotel: Hotel, cat: Catalogue) -> Targets:
    async def lost(sql: str, *args: Any) -> int:
        async with hotel.pool.acquire() as conn, conn.transaction():
            await conn.execute(sql, *args)
            deleted: str = await conn.execute(
                "DELETE FROM channel_events WHERE direction = 'outbound' AND received_at = now()"
            )
        return int(deleted.split()[-1])

    renamed = pick(cat, lambda u: u.kind == "desk" and u.block > 0)
    new_name = renamed.last + "-Smyth"
    n = await lost(
        "UPDATE reservations SET guest_last_name = $2 WHERE id = $1",
        renamed.reservation_ids[0],
        new_name,
    )
    renamed.changes.append(f"guest name corrected in the PMS to {new_name!r}, {n} event(s) lost")
    say(
        f"    PMS: reservation {renamed.reservation_ids[0]} renamed {renamed.last!r} → "
        f"{new_name!r}; its {n} outbound event(s) deleted in the same transaction"
    )

    fewer = pick(cat, lambda u: u.kind == "ota roomQty" and u.rooms == 2)
    await hotel.sandbox(
        "PATCH",
        f"/guest-bookings/{fewer.beds24_ids[0]}",
        json={"roomQty": 1, "delivery": {"drop": True}},
    )
    fewer.changes.append("roomQty 2 → 1 in Beds24, webhook dropped")
    say(f"    Beds24: booking {fewer.beds24_ids[0]} roomQty 2 → 1; its webhook dropped")

    deleted = next(u for u in cat.units if u.kind == "ota in a full room type")
    async with hotel.pool.acquire() as conn:
        held = await conn.fetchval(
            "SELECT id FROM reservations WHERE beds24_booking_id = $1", deleted.beds24_ids[0]
        )
    if held is None:
        raise StackFailed(f"Beds24 booking {deleted.beds24_ids[0]} was never imported")
    n = await lost("DELETE FROM reservations WHERE id = $1", held)
    deleted.deleted_in_pms = True
    deleted.changes.append(f"reservation {held} deleted in the PMS, {n} event(s) lost")
    say(
        f"    PMS: reservation {held} (Beds24 booking {deleted.beds24_ids[0]}, Family, "
        f"{deleted.arrival}..{deleted.departure}, all 6 Family rooms taken) deleted; its {n} "
        "outbound event(s) deleted in the same transaction"
    )

    # An OTA booking the PMS holds linked: one matched by its code if the sync linked any,
    # else one it imported.
    async with hotel.pool.acquire() as conn:
        linked = {
            r["beds24_booking_id"]: r["id"]
            for r in await conn.fetch(
                "SELECT id, beds24_booking_id FROM reservations WHERE property_id = $1 "
                "AND beds24_booking_id IS NOT NULL AND status = 'confirmed'",
                hotel.property_id,
            )
        }

    def matched_by_code(u: Unit) -> bool:
        return (
            u.match == "code"
            and not u.pms_diff
            and u.block > 0
            and linked.get(u.beds24_ids[0]) == u.reservation_ids[0]
        )

    if any(matched_by_code(u) and not u.reserved and not u.changes for u in cat.units):
        edited = pick(cat, matched_by_code)
    else:
        edited = pick(cat, lambda u: u.kind == "ota" and u.beds24_ids[0] in linked)
    edited_reservation = linked[edited.beds24_ids[0]]
    await desk_update(hotel, edited_reservation, "adults = 3, comments = $2", "Cot requested")
    edited.changes.append("desk edit: adults 3, comments")
    say(
        f"    PMS: OTA booking {edited.beds24_ids[0]} ({edited.kind}, code {edited.code}), "
        f"reservation {edited_reservation}, edited once at the desk: adults 2 → 3, a comment "
        "(its event delivered)"
    )

    direct = next(u for u in cat.units if u.kind == "direct linked by Beds24 id" and u.pms_diff)
    say(
        f"    (at connection) direct booking {direct.beds24_ids[0]}: Beds24 departs "
        f"{direct.departure}, the PMS a night later"
    )
    return Targets(
        renamed,
        new_name,
        fewer,
        deleted,
        edited,
        direct,
        [u for u in cat.units if u.pms_diff and u is not direct],
    )


async def check_targets(
    hotel: Hotel,
    cat: Catalogue,
    t: Targets,
    drift: list[dict[str, Any]],
    sides: Sides,
) -> list[str]:
    """One line per change made on purpose: what it became; lines starting '!' break rule 2."""
    lines: list[str] = []

    def records(booking_id: int) -> list[dict[str, Any]]:
        return [d for d in drift if booking_of(d["subject"]) == booking_id]

    def line(ok: bool, text: str) -> None:
        lines.append(("  ok " if ok else "! ") + text)

    def brief(rs: list[dict[str, Any]]) -> str:
        return "; ".join(f"{d['kind']}/{d['status']}: {d['resolution']}" for d in rs) or "no record"

    b = sides.bookings
    # the name correction
    bid = _beds24_id_of(sides, t.renamed.reservation_ids[0])
    rs = records(bid) if bid else []
    now = b.get(bid, {}).get("lastName") if bid else None
    line(
        now == t.new_name and any(d["status"] == "repaired" for d in rs),
        f"PMS name correction (events lost) on booking {bid}: Beds24 lastName {now!r} "
        f"(want {t.new_name!r}); {brief(rs)}",
    )
    # roomQty lowered in Beds24, webhook dropped
    bid = t.fewer_rooms.beds24_ids[0]
    rooms = [
        (r["beds24_qty_index"] or 1, r["status"])
        for r in await hotel.reservations()
        if bid in (r["beds24_booking_id"], r["beds24_qty_booking_id"])
    ]
    held = sum(1 for _, s in rooms if s != "cancelled")
    rs = records(bid)
    line(
        held == 1 and any(d["status"] == "repaired" for d in rs),
        f"Beds24 roomQty 2 → 1 (webhook dropped) on booking {bid}: PMS rooms {sorted(rooms)}; "
        f"{brief(rs)}",
    )
    # deleted in the PMS, still in Beds24, no spare room
    bid = t.deleted.beds24_ids[0]
    rs = records(bid)
    booking = b.get(bid) or {}
    open_missing = any(d["kind"] == "missing_in_pms" and d["status"] == "open" for d in rs)
    nights = [t.deleted.arrival + timedelta(days=n) for n in range(t.deleted.nights)]
    assert hotel.property_id is not None
    async with hotel.pool.acquire() as conn:
        free = await free_units(conn, hotel.property_id, str(hotel.beds24_rooms["Family"]), nights)
    avail = [
        d
        for d in drift
        if d["kind"] == "availability_differs"
        and d["subject"].startswith(f"room {hotel.beds24_rooms['Family']} ")
    ]
    line(
        open_missing
        and booking.get("status") not in (None, "cancelled")
        and all(v == 0 for v in free.values()),
        f"reservation deleted in the PMS (events lost), booking {bid} still in Beds24 "
        f"({booking.get('status')}), Family full: PMS free units those nights "
        f"{[free[n] for n in nights]} (want 0s); {brief(rs)}; Family availability drift: "
        f"{[d['subject'] + '/' + d['status'] for d in avail]}",
    )
    # the OTA booking edited once at the desk
    bid = t.edited.beds24_ids[0]
    now_b = b.get(bid, {})
    rs = records(bid)
    line(
        now_b.get("numAdult") == 3
        and now_b.get("comments") == "Cot requested"
        and now_b.get("apiReference") == t.edited.code
        and not rs,
        f"OTA booking {bid} edited at the desk: Beds24 numAdult {now_b.get('numAdult')}, "
        f"comments {now_b.get('comments')!r}, apiReference {now_b.get('apiReference')!r} "
        f"(code {t.edited.code}); {brief(rs)}",
    )
    # the direct booking held differently at connection
    bid = t.direct.beds24_ids[0]
    rs = records(bid)
    both = sides.values(bid)
    kept = both is not None and both[0]["departure"] != both[1]["departure"]
    line(
        kept and any(d["status"] == "open" for d in rs),
        f"direct booking {bid} held a night longer in the PMS at connection: departures "
        f"{both and (both[0]['departure'], both[1]['departure'])} (Beds24, PMS); {brief(rs)}",
    )
    # the other stays held differently at connection
    for unit in t.at_connection:
        bid = unit.beds24_ids[0]
        rs = records(bid)
        both = sides.values(bid)
        owner = "beds24" if unit.channel in OTA else "pms"
        agree = both is not None and not sides.differing(bid)
        winner_said = any(
            d["status"] == "repaired"
            and (("Beds24 wins" in (d["resolution"] or "")) == (owner == "beds24"))
            for d in rs
        )
        detail = ""
        if both is not None:
            keys = [k.lstrip("+") for k in unit.pms_diff]
            keys = ["departure" if k == "night" else k for k in keys]
            detail = json.dumps({k: (both[0].get(k), both[1].get(k)) for k in keys}, default=str)
        line(
            agree and winner_said,
            f"{unit.label} (key {unit.match}) held differently at connection "
            f"{unit.pms_diff}, owner {owner}: now {detail} (Beds24, PMS); {brief(rs)}",
        )
    return lines


def _beds24_id_of(sides: Sides, reservation: UUID) -> int | None:
    for booking_id, r in sides.room1.items():
        if r["id"] == reservation:
            return int(booking_id)
    return None


async def calendar_check(hotel: Hotel, t: Targets) -> None:
    """Beds24's calendar for the Family room on the deleted booking's nights (read after the
    last phase, so its credits count nowhere)."""
    from channel_sync.beds24 import Beds24Client

    room = hotel.beds24_rooms["Family"]
    async with Beds24Client(f"{SANDBOX}/api/v2", hotel.account["refresh_token"]) as client:
        [calendar] = await client.get_calendar(
            [room], t.deleted.arrival, t.deleted.departure - timedelta(days=1)
        )
    show(f"Beds24 calendar, Family room {room}, {t.deleted.arrival}..", calendar["calendar"])


async def main(seed: int, poll: bool, keep: bool) -> int:
    say(
        f"onboard_real_hotel: seed {seed}, poller {'on' if poll else 'off'}, ports "
        f"{PORTS.gateway}-{PORTS.outbound}, sandbox {PORTS.sandbox}"
    )
    cat = plan(seed)
    dsn = await fresh_database(BASE_DSN, "channel_sync_onboard")
    vhost = infra.create_vhost()
    if vhost is None:
        raise StackFailed("rabbitmqctl is needed for a private vhost")
    stack = Stack(
        "onboard",
        dsn,
        PORTS,
        ADMIN_API_TOKEN=ADMIN_TOKEN,
        RABBITMQ_URL=infra.with_vhost(BASE_AMQP, vhost),
        RETRY_DELAYS_MS="1000,2000,4000",
        SYNC_EVERY_S="1",
        SYNC_SETTLE_S="30",
        RECONCILE_INTERVAL_S="0",
        POLL_ENABLED="true" if poll else "false",
    )
    rules: list[Rule] = []
    try:
        await stack.start_all()
        pool = await asyncpg.create_pool(dsn, min_size=2, max_size=6)
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                rules = await scenario(Hotel(http, pool, cat), cat)
        finally:
            await pool.close()
    finally:
        await stack.stop_all()
        if not keep:
            infra.delete_vhost(vhost)
    say("\n▶ Verdict")
    for rule in rules:
        say(
            f"  {'PASS' if rule.ok else 'FAIL'}  {rule.name} — checked {rule.count}, "
            f"broken {len(rule.failures)}"
        )
        for failure in rule.failures[:15]:
            say(f"          {failure}")
        if len(rule.failures) > 15:
            say(f"          … and {len(rule.failures) - 15} more")
    broken = [r for r in rules if not r.ok]
    say(f"\nonboard_real_hotel: {len(rules) - len(broken)} of {len(rules)} rules hold")
    return 1 if broken or not rules else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--poll", action="store_true", help="run the poller as in production")
    parser.add_argument("--keep", action="store_true", help="keep the RabbitMQ vhost")
    args = parser.parse_args()
    try:
        sys.exit(asyncio.run(main(args.seed, args.poll, args.keep)))
    except StackFailed as exc:
        print(f"onboard_real_hotel failed: {exc}", file=sys.stderr)
        sys.exit(1)
