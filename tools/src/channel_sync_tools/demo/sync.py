"""Demo scenario 4: connecting a hotel that already has bookings on both sides.

A working hotel (three rooms, two front-desk reservations in the PMS) and its Beds24
property (five existing bookings, one cancelled, over several pages) are connected through
the admin API; the initial sync brings both sides into agreement. Then drift is made on
purpose on each side (a booking edited in Beds24 whose webhook is lost, a PMS change whose
event is lost, nights closed in Beds24's calendar) and a reconciliation finds and repairs
it, through events; a booking typed into Beds24 and changed in the PMS stays open for an
operator. Evidence is printed at each step.
"""

from __future__ import annotations

from typing import Any

from channel_sync.beds24 import calendar_item

from channel_sync_tools.demo.base import Demo, day, desk_booking
from channel_sync_tools.onboarding import (
    SyncKind,
    create_beds24_property,
    create_pms_hotel,
    onboard,
    sync_run,
)
from channel_sync_tools.output import evidence, say
from channel_sync_tools.stack import StackFailed

DROP = {"drop": True}  # the webhook of this change never arrives
ROOMS = {"Double": ("201", "202", "203")}


async def connect_busy_hotel(demo: Demo) -> None:
    say("\n▶ Scenario 4 — a hotel that already has bookings is connected; drift is repaired")
    api, db = demo.api, demo.db
    await api.sandbox.configure(page_size=2)
    beds24 = await create_beds24_property(api, "Busy Hotel", ROOMS)
    room = beds24.room_ids[0]

    async def guest(arrival: int, nights: int, **fields: Any) -> dict[str, Any]:
        return await api.sandbox.guest_booking(
            room, day(arrival), day(arrival + nights), delivery=DROP, lastName="Guest", **fields
        )

    ota = [await guest(a, 2) for a in (2, 5, 8)]
    cancelled = await guest(11, 2)
    await api.sandbox.cancel_guest_booking(cancelled["id"])
    typed_in = await guest(14, 2, channel="direct")
    evidence("Beds24 before connecting", f"{len(ota) + 2} bookings (one cancelled), pages of 2")

    # The PMS: a working hotel, not yet connected (its writes record no events).
    pms = await create_pms_hotel(db, ROOMS, name="Busy Hotel")
    rooms = pms.rooms["Double"]
    desk = [
        await desk_booking(db, pms.property_id, rooms[i], day(a), day(a + 3), "Desk")
        for i, a in ((1, 20), (2, 25))
    ]
    evidence("PMS before connecting", f"{len(desk)} front-desk reservations")

    hotel = await onboard(api, db, "Busy Hotel", ROOMS, beds24=beds24, pms=pms)
    evidence("end of onboarding offers", hotel.next_step)
    property_id = hotel.property_id

    async def run(kind: SyncKind) -> None:
        done = await sync_run(api, db, property_id, kind)
        evidence(f"GET /admin/sync-runs/{{id}} ({kind})", {"progress": done["progress"]})

    await run("initial")
    held = await db.fetchval(
        "SELECT count(*) FROM reservations WHERE property_id = $1", property_id
    )
    in_beds24 = await api.sandbox.bookings(beds24.id)
    evidence(
        "after the initial sync", {"PMS reservations": held, "Beds24 bookings": len(in_beds24)}
    )
    if held != 7 or len(in_beds24) != 7:
        raise StackFailed("both sides should hold the same 7 stays after the initial sync")

    say("    drift made on purpose:")
    await api.sandbox.modify_guest_booking(ota[0]["id"], departure=day(5), delivery=DROP)
    say(f"      Beds24 booking {ota[0]['id']} extended to {day(5)}; its webhook lost")
    for reservation, departure in ((desk[0], day(24)), (None, day(17))):
        async with db.transaction():
            target = reservation or await db.fetchval(
                "SELECT id FROM reservations WHERE beds24_booking_id = $1", typed_in["id"]
            )
            await db.execute(
                "UPDATE reservations SET departure = $2 WHERE id = $1", target, departure
            )
            await db.execute(
                "DELETE FROM channel_events WHERE direction = 'outbound' AND received_at = now()"
            )
        say(f"      PMS reservation {target} now departs {departure}; its events lost")
    async with api.beds24(hotel.refresh_token) as client:
        await client.write_calendar(
            [calendar_item(room, {day(n): {"numAvail": 0} for n in (40, 41)})]
        )
    say(f"      Beds24 calendar: room {room} closed on {day(40)} and {day(41)}")

    await run("reconcile")
    drift = await api.admin("GET", "/admin/drift", params={"property_id": str(property_id)})
    for record in drift["drift"]:
        evidence(
            f"drift {record['status']}",
            {k: record[k] for k in ("kind", "subject", "beds24_value", "pms_value", "resolution")},
        )
    statuses = sorted(d["status"] for d in drift["drift"])
    if statuses.count("open") != 1 or statuses.count("repaired") < 3:
        raise StackFailed(f"expected 3+ repaired drift records and 1 open, got {statuses}")
    extended = await db.fetchval(
        "SELECT departure FROM reservations WHERE beds24_booking_id = $1", ota[0]["id"]
    )
    sent = await db.fetchval("SELECT beds24_booking_id FROM reservations WHERE id = $1", desk[0])
    in_beds24_now = await api.sandbox.booking(sent)
    evidence(
        "repaired",
        {
            "PMS departure of the Beds24 edit": extended,
            "Beds24 departure of the PMS change": in_beds24_now["departure"],
        },
    )
    if extended != day(5) or in_beds24_now["departure"] != day(24).isoformat():
        raise StackFailed("the drift was not repaired on both sides")
