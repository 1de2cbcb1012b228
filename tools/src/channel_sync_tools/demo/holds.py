"""Demo scenario 7: an inventory hold closes its unit on every channel at once, and its
expiry gives it back.

A guest starts booking a small hotel's last free room for two nights on the hotel's own
site: the booking engine places a hold (20 seconds here). Beds24's availability for those
nights drops within seconds; a second hold for the same nights is refused with the reason
(nothing left); the guest walks away, the hold expires, the reaper ends it and Beds24 shows
the room again. The times are printed.
"""

from __future__ import annotations

import time
from datetime import timedelta
from uuid import UUID

from channel_sync.holds import HoldRefused, HoldTarget, place_hold

from channel_sync_tools.demo.base import Demo, day, desk_booking
from channel_sync_tools.onboarding import onboard
from channel_sync_tools.output import evidence, say
from channel_sync_tools.stack import StackFailed, wait_until

HOLD_S = 20


async def inventory_hold(demo: Demo) -> None:
    say("\n▶ Scenario 7 — a hold takes the last room off every channel; its expiry gives it back")
    api, db = demo.api, demo.db
    # A two-room hotel on an account of its own (the earlier scenarios spent the demo
    # account's credits).
    hotel = await onboard(api, db, "Hold Hotel", {"Twin": ("T1", "T2")})
    arrival, departure = day(20), day(22)
    # One of two rooms is sold: one is left.
    await desk_booking(db, hotel.property_id, hotel.rooms()[0], arrival, departure, "Sold")

    async def shows(expected: int) -> int | None:
        """numAvail as Beds24 holds it, read through the sandbox's control API (polling the
        official GET would spend the account's credits); +1: 0 is an answer too."""
        [night] = await api.sandbox.calendar(hotel.beds24.id, hotel.beds24_room(), arrival)
        found: int = night["numAvail"]
        return found + 1 if found == expected else None

    await wait_until(f"Beds24 shows 1 room left on {arrival}", lambda: shows(1))

    async def hold(reference: str) -> UUID:
        async with db.transaction():
            held: UUID = await place_hold(
                db,
                hotel.property_id,
                HoldTarget(room_type_id=hotel.pms.room_types["Twin"]),
                arrival=arrival,
                departure=departure,
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
    listed = await api.admin("GET", f"/admin/properties/{hotel.property_id}/holds")
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
        hotel.property_id,
    )
    if status != "expired":
        raise StackFailed(f"the hold is {status}, not expired")
