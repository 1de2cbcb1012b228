"""Demo scenario 4 (`make demo`): connecting a hotel that already has bookings on both sides.

A working hotel (three rooms, two front-desk reservations in the PMS) and its Beds24
property (five existing bookings, one cancelled, over several pages) are connected through
the admin API; the initial sync brings both sides into agreement. Then drift is made on
purpose on each side (a booking edited in Beds24 whose webhook is lost, a PMS change whose
event is lost, nights closed in Beds24's calendar) and a reconciliation finds and repairs
it, through events; a booking typed into Beds24 and changed in the PMS stays open for an
operator. Evidence is printed at each step.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any, Protocol
from uuid import UUID

import asyncpg
from channel_sync.beds24 import Beds24Client, calendar_item
from stack import ADMIN, SANDBOX, StackFailed, say, wait_until

DROP = {"drop": True}  # the webhook of this change never arrives


class Caller(Protocol):
    admin_headers: dict[str, str]
    db: asyncpg.Connection

    async def call(self, method: str, url: str, **kwargs: Any) -> Any: ...


def evidence(label: str, value: Any) -> None:
    say(f"    {label}: {json.dumps(value, default=str, sort_keys=True)}")


def day(n: int) -> date:
    return date.today() + timedelta(days=n)


async def connect_busy_hotel(demo: Caller) -> None:
    say("\n▶ Scenario 4 — a hotel that already has bookings is connected; drift is repaired")
    db = demo.db
    await demo.call("POST", f"{SANDBOX}/_sandbox/config", json={"page_size": 2})
    account = await demo.call("POST", f"{SANDBOX}/_sandbox/accounts", json={})
    prop = await demo.call(
        "POST",
        f"{SANDBOX}/_sandbox/properties",
        json={
            "account_id": account["account_id"],
            "name": "Busy Hotel",
            "rooms": [{"name": "Double", "qty": 3}],
        },
    )
    room = prop["rooms"][0]["id"]

    async def guest(arrival: int, nights: int, **fields: Any) -> dict[str, Any]:
        booked: dict[str, Any] = await demo.call(
            "POST",
            f"{SANDBOX}/_sandbox/guest-bookings",
            json={
                "roomId": room,
                "arrival": day(arrival).isoformat(),
                "departure": day(arrival + nights).isoformat(),
                "lastName": "Guest",
                "delivery": DROP,
                **fields,
            },
        )
        return booked

    ota = [await guest(a, 2) for a in (2, 5, 8)]
    cancelled = await guest(11, 2)
    await demo.call("POST", f"{SANDBOX}/_sandbox/guest-bookings/{cancelled['id']}/cancel", json={})
    typed_in = await guest(14, 2, channel="direct")
    evidence("Beds24 before connecting", f"{len(ota) + 2} bookings (one cancelled), pages of 2")

    # The PMS: a working hotel, not yet connected (its writes record no events).
    property_id: UUID = await db.fetchval(
        "INSERT INTO hotel_settings (name) VALUES ('Busy Hotel') RETURNING id"
    )
    room_type = await db.fetchval(
        "INSERT INTO room_types (property_id, name) VALUES ($1, 'Double') RETURNING id",
        property_id,
    )
    rooms = [
        await db.fetchval(
            "INSERT INTO rooms (property_id, room_type_id, name) VALUES ($1, $2, $3) RETURNING id",
            property_id,
            room_type,
            name,
        )
        for name in ("201", "202", "203")
    ]
    desk = [
        await db.fetchval(
            "INSERT INTO reservations (property_id, room_id, arrival, departure, adults, "
            "guest_last_name) VALUES ($1, $2, $3, $4, 2, 'Desk') RETURNING id",
            property_id,
            rooms[i],
            day(a),
            day(a + 3),
        )
        for i, a in ((1, 20), (2, 25))
    ]
    evidence("PMS before connecting", f"{len(desk)} front-desk reservations")

    headers = demo.admin_headers
    await demo.call(
        "POST",
        f"{ADMIN}/admin/properties",
        headers=headers,
        json={
            "property_id": str(property_id),
            "beds24_property_id": prop["id"],
            "invite_code": account["invite_code"],
        },
    )
    mapped = await demo.call(
        "PUT",
        f"{ADMIN}/admin/properties/{property_id}/mappings",
        headers=headers,
        json={
            "mappings": [
                {
                    "mapping_type": "room_type",
                    "internal_id": str(room_type),
                    "external_id": str(room),
                }
            ]
        },
    )
    evidence("end of onboarding offers", mapped["next_step"])

    async def run(kind: str) -> dict[str, Any]:
        path = "initial-sync" if kind == "initial" else "reconcile"
        requested = await demo.call(
            "POST", f"{ADMIN}/admin/properties/{property_id}/{path}", headers=headers
        )

        async def finished() -> dict[str, Any] | None:
            shown: dict[str, Any] = await demo.call(
                "GET", f"{ADMIN}/admin/sync-runs/{requested['id']}", headers=headers
            )
            busy = await db.fetchval(
                "SELECT count(*) FROM channel_events WHERE property_id = $1 "
                "AND status IN ('received', 'processing')",
                property_id,
            )
            return shown if shown["status"] == "done" and busy == 0 else None

        done: dict[str, Any] = await wait_until(f"the {kind} run and its events", finished)
        evidence(f"GET /admin/sync-runs/{{id}} ({kind})", {"progress": done["progress"]})
        return done

    await run("initial")
    held = await db.fetchval(
        "SELECT count(*) FROM reservations WHERE property_id = $1", property_id
    )
    in_beds24 = await demo.call(
        "GET", f"{SANDBOX}/_sandbox/bookings", params={"propertyId": prop["id"]}
    )
    evidence(
        "after the initial sync", {"PMS reservations": held, "Beds24 bookings": len(in_beds24)}
    )
    if held != 7 or len(in_beds24) != 7:
        raise StackFailed("both sides should hold the same 7 stays after the initial sync")

    say("    drift made on purpose:")
    await demo.call(
        "PATCH",
        f"{SANDBOX}/_sandbox/guest-bookings/{ota[0]['id']}",
        json={"departure": day(5).isoformat(), "delivery": DROP},
    )
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
    async with Beds24Client(f"{SANDBOX}/api/v2", account["refresh_token"]) as client:
        await client.write_calendar(
            [calendar_item(room, {day(n): {"numAvail": 0} for n in (40, 41)})]
        )
    say(f"      Beds24 calendar: room {room} closed on {day(40)} and {day(41)}")

    await run("reconcile")
    drift = await demo.call(
        "GET", f"{ADMIN}/admin/drift", headers=headers, params={"property_id": str(property_id)}
    )
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
    in_beds24_now = await demo.call("GET", f"{SANDBOX}/_sandbox/bookings/{sent}")
    evidence(
        "repaired",
        {
            "PMS departure of the Beds24 edit": extended,
            "Beds24 departure of the PMS change": in_beds24_now["departure"],
        },
    )
    if extended != day(5) or in_beds24_now["departure"] != day(24).isoformat():
        raise StackFailed("the drift was not repaired on both sides")
