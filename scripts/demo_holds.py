"""Demo scenario 7 (`make demo`): an inventory hold closes its unit on every channel at once,
and its expiry gives it back.

A guest starts booking a small hotel's last free room for two nights on the hotel's own
site: the booking engine places a hold (20 seconds here). Beds24's availability for those
nights drops within seconds; a second hold for the same nights is refused with the reason
(nothing left); the guest walks away, the hold expires, the reaper ends it and Beds24 shows
the room again. The times are printed.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any, Protocol
from uuid import UUID

import asyncpg
from channel_sync.holds import HoldRefused, HoldTarget, place_hold
from demo_sync import evidence
from stack import ADMIN, SANDBOX, StackFailed, say, wait_until

HOLD_S = 20


class Hotel(Protocol):
    admin_headers: dict[str, str]
    db: asyncpg.Connection

    async def call(self, method: str, url: str, **kwargs: Any) -> Any: ...


async def _num_avail(hotel: Hotel, beds24: dict[str, Any], night: date) -> int:
    """numAvail as Beds24 holds it, read through the sandbox's control API (polling the
    official GET would spend the account's credits)."""
    [day] = await hotel.call(
        "GET",
        f"{SANDBOX}/_sandbox/properties/{beds24['id']}/rooms/{beds24['rooms'][0]['id']}/calendar",
        params={"from": night.isoformat()},
    )
    found: int = day["numAvail"]
    return found


async def _small_hotel(hotel: Hotel) -> tuple[UUID, UUID, list[UUID], dict[str, Any]]:
    """A two-room hotel on an account of its own (the earlier scenarios spent the demo
    account's credits), onboarded through the admin API and mapped by room type."""
    headers = hotel.admin_headers
    account = await hotel.call("POST", f"{SANDBOX}/_sandbox/accounts", json={})
    beds24 = await hotel.call(
        "POST",
        f"{SANDBOX}/_sandbox/properties",
        json={
            "account_id": account["account_id"],
            "name": "Hold Hotel",
            "rooms": [{"name": "Twin", "qty": 2}],
        },
    )
    registered = await hotel.call(
        "POST",
        f"{ADMIN}/admin/properties",
        headers=headers,
        json={
            "name": "Hold Hotel",
            "beds24_property_id": beds24["id"],
            "invite_code": account["invite_code"],
        },
    )
    property_id = UUID(registered["property"]["property_id"])
    db = hotel.db
    room_type: UUID = await db.fetchval(
        "INSERT INTO room_types (property_id, name) VALUES ($1, 'Twin') RETURNING id",
        property_id,
    )
    rooms = [
        await db.fetchval(
            "INSERT INTO rooms (property_id, room_type_id, name) VALUES ($1, $2, $3) RETURNING id",
            property_id,
            room_type,
            name,
        )
        for name in ("T1", "T2")
    ]
    mapping = {
        "mapping_type": "room_type",
        "internal_id": str(room_type),
        "external_id": str(beds24["rooms"][0]["id"]),
    }
    await hotel.call(
        "PUT",
        f"{ADMIN}/admin/properties/{property_id}/mappings",
        headers=headers,
        json={"mappings": [mapping]},
    )
    return property_id, room_type, rooms, beds24


async def inventory_hold(hotel: Hotel) -> None:
    say("\n▶ Scenario 7 — a hold takes the last room off every channel; its expiry gives it back")
    db = hotel.db
    property_id, room_type, rooms, beds24 = await _small_hotel(hotel)
    arrival = date.today() + timedelta(days=20)
    async with db.transaction():  # one of two rooms is sold: one is left
        await db.execute(
            "INSERT INTO reservations (property_id, room_id, arrival, departure, adults, "
            "guest_last_name) VALUES ($1, $2, $3, $4, 2, 'Sold')",
            property_id,
            rooms[0],
            arrival,
            arrival + timedelta(days=2),
        )

    async def shows(expected: int) -> int | None:
        found = await _num_avail(hotel, beds24, arrival)
        return found + 1 if found == expected else None  # +1: 0 is an answer too

    await wait_until(f"Beds24 shows 1 room left on {arrival}", lambda: shows(1))

    async def hold(reference: str) -> UUID:
        async with db.transaction():
            held: UUID = await place_hold(
                db,
                property_id,
                HoldTarget(room_type_id=room_type),
                arrival=arrival,
                departure=arrival + timedelta(days=2),
                lasts=timedelta(seconds=HOLD_S),
                reference=reference,
                placed_by="demo booking engine",
            )
        return held

    started = time.perf_counter()
    await hold("cart-7")
    say(f"    booking engine: hold on the last room, {arrival} for 2 nights, {HOLD_S}s")
    await wait_until("Beds24 shows the room taken", lambda: shows(0))
    evidence("seconds from the hold to Beds24 showing 0", round(time.perf_counter() - started, 1))
    try:
        await hold("cart-8")
        raise StackFailed("a second hold on the same last room was accepted")
    except HoldRefused as refused:
        evidence("a second guest's hold is refused", str(refused))
    listed = await hotel.call(
        "GET", f"{ADMIN}/admin/properties/{property_id}/holds", headers=hotel.admin_headers
    )
    evidence(
        "GET /admin/properties/{id}/holds",
        [{k: h[k] for k in ("held", "reference", "placed_by", "arrival")} for h in listed["holds"]],
    )
    expired_at = started + HOLD_S
    await wait_until(
        "the hold's expiry gives the room back on Beds24", lambda: shows(1), timeout=HOLD_S + 30
    )
    evidence(
        "seconds from the expiry to Beds24 showing 1 again",
        round(time.perf_counter() - expired_at, 1),
    )
    status = await db.fetchval(
        "SELECT status FROM inventory_holds WHERE reference = 'cart-7' AND property_id = $1",
        property_id,
    )
    if status != "expired":
        raise StackFailed(f"the hold is {status}, not expired")
