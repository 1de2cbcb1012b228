"""Demo scenario 5: multi-room stays, both ways.

in:  one OTA reservation of three rooms arrives as a Beds24 booking group (three bookings
     under one master, their webhooks out of order); the PMS holds it as ONE stay of three
     rooms, each from its own Beds24 booking, shown by GET /admin/stays/{id}.
out: the front desk books a guest into three rooms as one stay; the outbound worker makes
     them ONE Beds24 group in ONE call (actions.makeGroup), our reference on each member.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from channel_sync_tools.demo.base import Demo, day
from channel_sync_tools.output import evidence, say
from channel_sync_tools.stack import StackFailed, wait_until


async def multi_room_stays(demo: Demo) -> None:
    await _arriving(demo)
    await _leaving(demo)


async def _arriving(demo: Demo) -> None:
    say("\n▶ Scenario 5a — a three-room OTA reservation arrives (a Beds24 booking group)")
    api, hotel = demo.api, demo.hotel
    made = await api.sandbox.guest_group(
        [{"roomId": hotel.beds24_room()}] * 3,
        day(45),
        day(48),
        propertyId=hotel.beds24.id,
        firstName="Katherine",
        lastName="Johnson",
        delivery={"drop": True},  # replayed below, last member first
    )
    evidence(
        "Beds24 bookings",
        [{k: b[k] for k in ("id", "masterId", "bookingGroup", "roomId")} for b in made],
    )
    for booking in reversed(made):
        await api.sandbox.replay_webhook(booking["id"])
    ids = [b["id"] for b in made]

    async def one_stay() -> UUID | None:
        rows = await demo.db.fetch(
            "SELECT stay_id, room_id FROM reservations WHERE beds24_booking_id = ANY($1)", ids
        )
        stays = {r["stay_id"] for r in rows}
        placed = {r["room_id"] for r in rows if r["room_id"] is not None}
        if len(rows) == 3 and len(stays) == 1 and None not in stays and len(placed) == 3:
            stay: UUID = rows[0]["stay_id"]
            return stay
        return None

    stay_id = await wait_until("three PMS rooms held as one stay", one_stay)
    stay = await api.admin("GET", f"/admin/stays/{stay_id}")
    evidence(
        "GET /admin/stays/{id}",
        {k: stay[k] for k in ("beds24_master_id", "rooms_held", "missing_beds24_ids")},
    )
    for room in stay["rooms"]:
        evidence("  room", {k: room[k] for k in ("room_name", "beds24_booking_id", "status")})


async def _leaving(demo: Demo) -> None:
    say("\n▶ Scenario 5b — the front desk books one guest into three rooms as one stay")
    api, db, property_id = demo.api, demo.db, demo.hotel.property_id
    await api.sandbox.clear_calls()
    async with db.transaction():
        stay_id = await db.fetchval(
            "INSERT INTO stays (property_id) VALUES ($1) RETURNING id", property_id
        )
        reservations: list[UUID] = [
            r["id"]
            for r in await db.fetch(
                """INSERT INTO reservations (property_id, room_id, stay_id, arrival, departure,
                       guest_first_name, guest_last_name, adults)
                   SELECT $1, id, $2, $3, $4, 'Dorothy', 'Vaughan', 2 FROM rooms
                   WHERE property_id = $1 RETURNING id""",
                property_id,
                stay_id,
                day(60),
                day(62),
            )
        ]
    evidence("PMS stay", {"stay": str(stay_id), "reservations": [str(r) for r in reservations]})

    async def all_made() -> list[Any] | None:
        rows = await db.fetch(
            "SELECT beds24_booking_id FROM reservations WHERE stay_id = $1", stay_id
        )
        made = [r["beds24_booking_id"] for r in rows if r["beds24_booking_id"]]
        return made if len(made) == len(reservations) else None

    ids = await wait_until("every room made in Beds24", all_made)
    bookings = [await api.sandbox.booking(booking_id) for booking_id in sorted(ids)]
    for booking in bookings:
        evidence(
            "booking in Beds24",
            {k: booking.get(k) for k in ("id", "apiReference", "bookingGroup", "arrival")},
        )
    posts = await api.sandbox.calls(method="POST", path="/bookings")
    evidence("POST /bookings calls (items each)", [p["items"] for p in posts])
    groups = {str(booking["bookingGroup"]) for booking in bookings}
    if len(groups) != 1 or [p["items"] for p in posts] != [len(reservations)]:
        raise StackFailed("the stay did not leave as one group in one call")
    master = await db.fetchval("SELECT beds24_master_id FROM stays WHERE id = $1", stay_id)
    evidence("stays.beds24_master_id", master)
