"""Demo scenario 6: rates and restrictions from the PMS to Beds24's calendar.

The demo hotel's rate plan BAR is mapped to Beds24's `price1`; a month of prices is loaded
in the PMS. Then the front office changes one night's price and minimum stay: Beds24's
calendar shows both seconds later (the time is printed). Then someone edits a price by hand
in Beds24 (Beds24 sends no webhook for that): a reconciliation finds it, records it and puts
the PMS's price back.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from channel_sync.beds24 import calendar_item

from channel_sync_tools.calendar import nights_shown
from channel_sync_tools.demo.base import Demo, day
from channel_sync_tools.onboarding import sync_run
from channel_sync_tools.output import evidence, say
from channel_sync_tools.stack import StackFailed, wait_until


async def _shown(demo: Demo, night: date) -> dict[str, Any]:
    """What Beds24's calendar GET shows for the night (prices and restrictions included)."""
    room = demo.hotel.beds24_room()
    async with demo.api.beds24(demo.hotel.refresh_token) as client:
        shown = await nights_shown(
            client,
            [room],
            night,
            night,
            include_prices=True,
            include_min_stay=True,
            include_override=True,
        )
    return shown[room, night]


async def rates_and_restrictions(demo: Demo) -> None:
    say("\n▶ Scenario 6 — prices and restrictions set in the PMS are Beds24's within seconds")
    api, db, hotel = demo.api, demo.db, demo.hotel
    property_id = hotel.property_id
    # Beds24's own page size again (the sync scenario made it small to show paging).
    await api.sandbox.configure(page_size=100)
    room_type = hotel.pms.room_types["Double"]
    async with db.transaction():
        plan = await db.fetchval(
            "INSERT INTO rate_plans (property_id, code, name) "
            "VALUES ($1, 'BAR', 'Best available rate') RETURNING id",
            property_id,
        )
        await db.execute(
            "INSERT INTO channel_mappings (property_id, mapping_type, internal_id, external_id) "
            "VALUES ($1, 'rate_plan', $2, 'price1')",
            property_id,
            plan,
        )
        await db.execute(
            "INSERT INTO room_rates (rate_plan_id, room_type_id, night, property_id, price) "
            "SELECT $1, $2, $3::date + n, $4, 120 FROM generate_series(0, 29) n",
            plan,
            room_type,
            day(0),
            property_id,
        )
    evidence("PMS", "rate plan BAR -> Beds24 price1; 30 nights at 120")
    target = day(7)

    async def shows(want: dict[str, Any]) -> dict[str, Any] | None:
        found = await _shown(demo, target)
        return found if all(found.get(k) == v for k, v in want.items()) else None

    await wait_until("Beds24 shows the month's prices", lambda: shows({"price1": 120}))
    started = time.perf_counter()
    async with db.transaction():
        await db.execute(
            "UPDATE room_rates SET price = 149 WHERE rate_plan_id = $1 AND night = $2",
            plan,
            target,
        )
        await db.execute(
            "INSERT INTO room_restrictions (room_type_id, night, property_id, min_stay) "
            "VALUES ($1, $2, $3, 3)",
            room_type,
            target,
            property_id,
        )
    say(f"    front office: {target} now 149 with a 3-night minimum stay")
    found = await wait_until(
        "Beds24 shows the new price and minimum stay", lambda: shows({"price1": 149, "minStay": 3})
    )
    evidence(
        f"Beds24 calendar {target}, {time.perf_counter() - started:.1f}s after the PMS commit",
        found,
    )

    edited = day(10)
    async with api.beds24(hotel.refresh_token) as client:
        await client.write_calendar([calendar_item(hotel.beds24_room(), {edited: {"price1": 1}})])
    say(f"    someone sets {edited}'s price1 to 1 by hand in Beds24 (no webhook exists for it)")
    await sync_run(api, db, property_id, "reconcile")
    drift = await api.admin(
        "GET",
        "/admin/drift",
        params={"property_id": str(property_id), "kind": "calendar_differs"},
    )
    for record in drift["drift"]:
        evidence(
            f"drift {record['status']}",
            {k: record[k] for k in ("subject", "beds24_value", "pms_value", "resolution")},
        )
    back = await _shown(demo, edited)
    evidence(f"Beds24 calendar {edited} after the reconciliation", back)
    if back.get("price1") != 120 or not any(d["status"] == "repaired" for d in drift["drift"]):
        raise StackFailed("the hand-edited price was not found and repaired")
