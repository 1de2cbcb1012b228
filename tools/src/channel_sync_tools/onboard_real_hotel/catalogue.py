"""The hotel of the onboarding check, planned from a seed: its rooms, and every stay it holds
(in Beds24, in the PMS, or the same stay on both sides) with what the sync should make of it."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

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
# The rooms of each room type are named by floor: 101.., 201.., ...
ROOMS = {name: [f"{floor}{n:02d}" for n in range(1, qty + 1)] for name, qty, floor in ROOM_TYPES}


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


def _nth(diffs: list[dict[str, Any]], i: int) -> dict[str, Any]:
    """The i-th stay's difference, where the list has one."""
    return dict(diffs[i]) if i < len(diffs) else {}


def plan(seed: int) -> Catalogue:
    """307 Beds24 bookings, 127 PMS reservations, 57 of them the same stays."""
    cat = Catalogue(seed)
    add = cat.add
    # The same stays on both sides (57); the first few of a kind are held differently in
    # the PMS at connection (`pms_diff`).
    code_diffs: list[dict[str, Any]] = [
        {"adults": 3},
        {"guest_email": "typo@example.invalid"},
        {"+night": 1},
    ]
    for i, channel in enumerate(["booking"] * 8 + ["expedia"] * 7 + ["airbnb"] * 5):
        add(
            "ota code in PMS",
            "both",
            blocks=[IN_HOUSE_BLOCK] if i == 3 else FUTURE_BLOCKS,
            match="code",
            channel=channel,
            nights=2 if i == 2 else None,
            pms_diff=_nth(code_diffs, i),
        )
    for i, channel in enumerate(["booking"] * 6 + ["expedia"] * 5 + ["airbnb"] * 4):
        add(
            "ota linked by Beds24 id",
            "both",
            blocks=[IN_HOUSE_BLOCK] if i == 5 else FUTURE_BLOCKS,
            match="id",
            channel=channel,
            made_by="beds24",
            pms_diff=_nth([{"adults": 3}], i),
        )
    for i in range(10):
        add(
            "direct linked by Beds24 id",
            "both",
            match="id",
            made_by=None,
            nights=2 if i == 0 else None,
            beds24_status="confirmed",
            pms_diff=_nth([{"+night": 1}], i),
        )
    ref_diffs: list[dict[str, Any]] = [{"+night": 1}, {"notes": "VIP, quiet room on a high floor"}]
    for i in range(12):
        add(
            "made by an earlier connection (our reference)",
            "both",
            match="ref",
            nights=2 if i == 0 else None,
            beds24_status="confirmed",
            beds24_notes="Quiet room" if i == 1 else "",
            pms_diff=_nth(ref_diffs, i),
        )
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
