"""Hotel Meridian on the stack: both sides filled before connecting, connected through the
admin API, sync runs awaited, both sides read back; and the guests and the desk changing
bookings while the initial sync runs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from beds24_sandbox.handle import SandboxProperty
from channel_sync.references import REFERENCE_INFO_CODE
from inbound_worker.booking import PMS_STATUS

from channel_sync_tools.api import StackApi
from channel_sync_tools.onboard_real_hotel.catalogue import (
    NEW_BLOCKS,
    OTA,
    ROOMS,
    Catalogue,
    Unit,
)
from channel_sync_tools.onboarding import (
    PmsHotel,
    SyncKind,
    create_beds24_property,
    create_pms_hotel,
    finish_sync,
    onboard,
    open_events,
    request_sync,
    wait_settled,
)

NAME = "Hotel Meridian"
SETTLE_TIMEOUT_S = 240.0
QUIET_S = 2.0  # settled: nothing of the property in flight for this long


class Meridian:
    def __init__(self, api: StackApi, pool: asyncpg.Pool, cat: Catalogue) -> None:
        self.api = api
        self.pool = pool
        self.cat = cat
        self._beds24: SandboxProperty | None = None
        self._pms: PmsHotel | None = None
        self.marks: list[tuple[str, int]] = []  # (phase, index in the sandbox's call log)

    @property
    def beds24(self) -> SandboxProperty:
        assert self._beds24 is not None, "Beds24 is seeded first"
        return self._beds24

    @property
    def pms(self) -> PmsHotel:
        assert self._pms is not None, "the PMS is seeded first"
        return self._pms

    @property
    def property_id(self) -> UUID:
        return self.pms.property_id

    @property
    def account_id(self) -> int:
        return self.beds24.account.account_id

    @property
    def beds24_rooms(self) -> dict[str, int]:
        return {str(r["name"]): int(r["id"]) for r in self.beds24.rooms}

    @property
    def room_type_of(self) -> dict[UUID, str]:
        return {room: kind for kind, rooms in self.pms.rooms.items() for room in rooms}

    async def mark(self, phase: str) -> None:
        self.marks.append((phase, len(await self.api.sandbox.calls())))

    # -- Beds24 before connecting --
    async def seed_beds24(self) -> None:
        self._beds24 = await create_beds24_property(self.api, NAME, ROOMS)
        groups: dict[int, list[Unit]] = defaultdict(list)
        for unit in self.cat.units:
            if unit.origin == "pms":
                continue
            if unit.match == "ref":
                unit.reservation_ids = [uuid4()]
            if unit.group is not None:
                groups[unit.group].append(unit)
                continue
            unit.beds24_ids = [await self.book(unit)]
            if unit.beds24_status == "cancelled":
                await self.api.sandbox.cancel_guest_booking(unit.beds24_ids[0])
        for members in groups.values():
            made = await self.book_group(members)
            for unit, booking_id in zip(members, made, strict=True):
                unit.beds24_ids = [booking_id]

    async def book(self, unit: Unit) -> int:
        """The unit's booking made in Beds24 by a guest (or the hotel); its id."""
        booking = await self.api.sandbox.guest_booking(
            self.beds24_rooms[unit.room_type],
            unit.arrival,
            unit.departure,
            **self.booking_fields(unit),
        )
        return int(booking["id"])

    async def book_group(self, members: list[Unit]) -> list[int]:
        """One OTA reservation of the members' rooms (a Beds24 group), as its lead's."""
        lead = members[0]
        fields = self.booking_fields(lead)
        fields.pop("roomQty", None)
        made = await self.api.sandbox.guest_group(
            [{"roomId": self.beds24_rooms[m.room_type]} for m in members],
            lead.arrival,
            lead.departure,
            **fields,
        )
        return [int(b["id"]) for b in made]

    def booking_fields(self, unit: Unit) -> dict[str, Any]:
        """The booking's fields in Beds24 besides its room and dates."""
        fields: dict[str, Any] = {
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
            fields.update(
                apiReference=unit.code,
                referer=OTA[unit.channel][0],
                apiSource=OTA[unit.channel][0],
            )
        else:
            fields.update(apiReference="", referer="", apiSource="")
        if unit.match == "ref":
            reference = f"pms-{unit.reservation_ids[0]}"
            fields["apiReference"] = reference
            fields["infoItems"] = [{"code": REFERENCE_INFO_CODE, "text": reference}]
        if unit.rooms > 1:
            fields["roomQty"] = unit.rooms
        return fields

    # -- the PMS before connecting --
    async def seed_pms(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            self._pms = await create_pms_hotel(conn, ROOMS, name=NAME)
            for unit in self.cat.units:
                if unit.origin != "beds24":
                    await self.insert_pms(conn, unit)

    async def insert_pms(self, conn: PoolConnectionProxy, unit: Unit) -> None:
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
                "room_id": self.pms.rooms[unit.room_type][unit.slot + index],
                "arrival": unit.arrival,
                "departure": departure,
                "status": unit.pms_status
                if unit.origin == "pms"
                else PMS_STATUS[unit.beds24_status],
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

    # -- onboarding through the admin API, and the runs --
    async def onboard(self) -> None:
        await onboard(
            self.api,
            self.pool,
            NAME,
            ROOMS,
            beds24=self.beds24,
            pms=self.pms,
            ready_timeout=SETTLE_TIMEOUT_S,
        )

    async def request_run(self, kind: SyncKind) -> str:
        return await request_sync(self.api, self.property_id, kind)

    async def run_of(self, run_id: str) -> dict[str, Any]:
        run: dict[str, Any] = await self.api.admin("GET", f"/admin/sync-runs/{run_id}")
        return run

    async def busy(self) -> int:
        return await open_events(self.pool, property_id=self.property_id)

    async def settle(self, run_id: str, what: str) -> dict[str, Any]:
        """Wait until the run has ended and no event of the property has been in flight for
        QUIET_S."""
        return await finish_sync(
            self.api,
            self.pool,
            self.property_id,
            run_id,
            what=what,
            timeout=SETTLE_TIMEOUT_S,
            steady_s=QUIET_S,
        )

    async def quiet(self, what: str) -> None:
        """Wait until no event of the property has been in flight for QUIET_S."""
        await wait_settled(
            self.pool,
            what=what,
            property_id=self.property_id,
            timeout=SETTLE_TIMEOUT_S,
            quiet=False,
            steady_s=QUIET_S,
        )

    # -- both sides as they are --
    async def beds24_bookings(self) -> list[dict[str, Any]]:
        return await self.api.sandbox.bookings(self.beds24.id)

    async def reservations(self) -> list[asyncpg.Record]:
        return list(
            await self.pool.fetch(
                "SELECT * FROM reservations WHERE property_id = $1", self.property_id
            )
        )

    async def drift(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        while True:
            page = await self.api.admin(
                "GET",
                "/admin/drift",
                params={"property_id": str(self.property_id), "limit": 500, "offset": len(records)},
            )
            records += page["drift"]
            if len(records) >= page["total"] or not page["drift"]:
                return records

    async def events_count(self) -> int:
        n: int = await self.pool.fetchval(
            "SELECT count(*) FROM channel_events WHERE property_id = $1", self.property_id
        )
        return n

    async def desk_update(self, reservation: UUID, sql_set: str, *args: Any) -> None:
        """A change typed in at the desk (captured: it sends an event)."""
        await self.pool.execute(
            f"UPDATE reservations SET {sql_set} WHERE id = $1",  # noqa: S608
            reservation,
            *args,
        )


# -- changes during the sync ---------------------------------------------------------------
def pick(cat: Catalogue, predicate: Callable[[Unit], bool]) -> Unit:
    options = [u for u in cat.units if not u.reserved and not u.changes and predicate(u)]
    unit = cat.rng.choice(options)
    unit.reserved = True
    return unit


class SyncWaves:
    """Guests (Beds24, webhooks delivered) and the desk (PMS writes, captured) change bookings
    while the initial sync runs: wave 1 as it is requested, wave 2 once it has read a page,
    wave 3 after its last step while its events are in flight."""

    def __init__(self, hotel: Meridian) -> None:
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
        new.beds24_ids = [await h.book(new)]
        self.note(1, new, f"guest books Beds24 booking {new.beds24_ids[0]} (booking.com)")
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
        await h.api.sandbox.modify_guest_booking(shorter.beds24_ids[0], departure=shorter.departure)
        self.note(1, shorter, f"guest shortens Beds24 booking {shorter.beds24_ids[0]} by a night")
        coded = pick(cat, lambda u: u.match == "code" and not u.pms_diff and u.block > 0)
        await h.desk_update(coded.reservation_ids[0], "guest_phone = $2", "+44 20 7946 0018")
        self.note(
            1,
            coded,
            f"desk adds a phone number to reservation {coded.reservation_ids[0]} "
            f"(carries {OTA[coded.channel][0]} code {coded.code}, not linked yet)",
        )

    async def wave2(self) -> None:
        h, cat = self.hotel, self.cat
        gone = pick(cat, lambda u: u.kind == "ota")
        await h.api.sandbox.cancel_guest_booking(gone.beds24_ids[0])
        gone.beds24_status = "cancelled"
        self.note(2, gone, f"guest cancels Beds24 booking {gone.beds24_ids[0]}")
        more = pick(cat, lambda u: u.match == "code" and not u.pms_diff and u.block > 0)
        more.adults = 3
        await h.api.sandbox.modify_guest_booking(more.beds24_ids[0], numAdult=3)
        self.note(
            2,
            more,
            f"guest adds an adult to Beds24 booking {more.beds24_ids[0]} "
            f"(code {more.code}, matched by code)",
        )
        ours = pick(cat, lambda u: u.match == "ref" and not u.pms_diff)
        await h.desk_update(ours.reservation_ids[0], "notes = $2", "Airport pick-up 14:00")
        self.note(
            2,
            ours,
            f"desk adds notes to reservation {ours.reservation_ids[0]} (Beds24 "
            f"booking {ours.beds24_ids[0]} carries its reference, not linked yet)",
        )
        longer = pick(cat, lambda u: u.kind == "desk" and u.nights <= 3 and u.block > 0)
        longer.nights += 1
        await h.desk_update(longer.reservation_ids[0], "departure = $2", longer.departure)
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
        made = await h.book_group(members)
        for unit, booking_id in zip(members, made, strict=True):
            unit.beds24_ids = [booking_id]
        self.note(3, members[0], f"guest books an Expedia group {made}")
        member = pick(cat, lambda u: u.kind == "ota group member" and u.group == 0)
        await h.api.sandbox.cancel_guest_booking(member.beds24_ids[0])
        member.beds24_status = "cancelled"
        self.note(3, member, f"guest cancels group member {member.beds24_ids[0]}")
        dropped = pick(cat, lambda u: u.kind == "desk" and u.block > 0)
        await h.desk_update(dropped.reservation_ids[0], "status = 'cancelled'")
        dropped.pms_status = "cancelled"
        dropped.cancelled_in_pms_during_sync = True
        self.note(3, dropped, f"desk cancels reservation {dropped.reservation_ids[0]}")
        legacy = pick(
            cat, lambda u: u.match == "id" and u.channel in OTA and not u.pms_diff and u.block > 0
        )
        await h.desk_update(legacy.reservation_ids[0], "notes = $2", "Late check-in")
        self.note(
            3,
            legacy,
            f"desk adds notes to reservation {legacy.reservation_ids[0]} "
            f"(linked to Beds24 booking {legacy.beds24_ids[0]})",
        )
