"""Demo scenario 6 (`make demo`): rates and restrictions from the PMS to Beds24's calendar.

The demo hotel's rate plan BAR is mapped to Beds24's `price1`; a month of prices is loaded
in the PMS. Then the front office changes one night's price and minimum stay: Beds24's
calendar shows both seconds later (the time is printed). Then someone edits a price by hand
in Beds24 (Beds24 sends no webhook for that): a reconciliation finds it, records it and puts
the PMS's price back.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any, Protocol
from uuid import UUID

import asyncpg
from channel_sync.beds24 import Beds24Client, calendar_item
from demo_sync import evidence
from stack import ADMIN, SANDBOX, StackFailed, say, wait_until


class Hotel(Protocol):
    admin_headers: dict[str, str]
    db: asyncpg.Connection
    property_id: UUID | None
    beds24_room_id: int
    refresh_token: str

    async def call(self, method: str, url: str, **kwargs: Any) -> Any: ...


def day(n: int) -> date:
    return date.today() + timedelta(days=n)


async def _shown(hotel: Hotel, night: date) -> dict[str, Any]:
    """What Beds24's calendar GET shows for the night (prices and restrictions included)."""
    async with Beds24Client(f"{SANDBOX}/api/v2", hotel.refresh_token) as client:
        [room] = await client.get_calendar(
            [hotel.beds24_room_id],
            night,
            night,
            include_prices=True,
            include_min_stay=True,
            include_override=True,
        )
    [span] = room["calendar"]
    return {k: v for k, v in span.items() if k not in ("from", "to")}


async def rates_and_restrictions(hotel: Hotel) -> None:
    say("\n▶ Scenario 6 — prices and restrictions set in the PMS are Beds24's within seconds")
    db, property_id = hotel.db, hotel.property_id
    assert property_id is not None
    # Beds24's own page size again (the sync scenario made it small to show paging).
    await hotel.call("POST", f"{SANDBOX}/_sandbox/config", json={"page_size": 100})
    room_type = await db.fetchval(
        "SELECT id FROM room_types WHERE property_id = $1 ORDER BY name LIMIT 1", property_id
    )
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
        found = await _shown(hotel, target)
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
    async with Beds24Client(f"{SANDBOX}/api/v2", hotel.refresh_token) as client:
        await client.write_calendar([calendar_item(hotel.beds24_room_id, {edited: {"price1": 1}})])
    say(f"    someone sets {edited}'s price1 to 1 by hand in Beds24 (no webhook exists for it)")
    headers = hotel.admin_headers
    requested = await hotel.call(
        "POST", f"{ADMIN}/admin/properties/{property_id}/reconcile", headers=headers
    )

    async def reconciled() -> dict[str, Any] | None:
        run: dict[str, Any] = await hotel.call(
            "GET", f"{ADMIN}/admin/sync-runs/{requested['id']}", headers=headers
        )
        busy = await db.fetchval(
            "SELECT count(*) FROM channel_events WHERE property_id = $1 "
            "AND status IN ('received', 'processing')",
            property_id,
        )
        return run if run["status"] == "done" and busy == 0 else None

    await wait_until("the reconciliation and its repair", reconciled)
    drift = await hotel.call(
        "GET",
        f"{ADMIN}/admin/drift",
        headers=headers,
        params={"property_id": str(property_id), "kind": "calendar_differs"},
    )
    for record in drift["drift"]:
        evidence(
            f"drift {record['status']}",
            {k: record[k] for k in ("subject", "beds24_value", "pms_value", "resolution")},
        )
    back = await _shown(hotel, edited)
    evidence(f"Beds24 calendar {edited} after the reconciliation", back)
    if back.get("price1") != 120 or not any(d["status"] == "repaired" for d in drift["drift"]):
        raise StackFailed("the hand-edited price was not found and repaired")
