"""Rates and restrictions (ARI) from the PMS to Beds24's calendar, end to end: both workers
against the Beds24 sandbox.

A rate plan mapped to a price slot makes the property's prices and restrictions the PMS's
to set: a load of prices and rules reaches Beds24's calendar as one event per statement and
Beds24 shows exactly the PMS's values (the override combining stop-sell and closed to
arrival/departure as documented); a price of an unmapped rate plan fails alone, naming the
fix; hand edits in Beds24 are found by a reconciliation, recorded and repaired, and a
second reconciliation finds nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from beds24_sandbox.handle import SandboxHandle
from channel_sync.beds24 import Beds24Client, calendar_item
from channel_sync_testing.waiting import wait_for

from tests.conftest import Site
from tests.test_sync_and_drift import connected, rows, run_to_end

TODAY = date.today()
INCLUDE = {
    "include_prices": True,
    "include_min_stay": True,
    "include_max_stay": True,
    "include_override": True,
}


def day(n: int) -> date:
    return TODAY + timedelta(days=n)


async def rate_plan(db: asyncpg.Pool, site: Site, code: str, slot: str | None) -> UUID:
    async with db.acquire() as conn, conn.transaction():
        plan: UUID = await conn.fetchval(
            """INSERT INTO rate_plans (property_id, code, name)
               VALUES ($1, $2::text, $2::text) RETURNING id""",
            site.property_id,
            code,
        )
        if slot is not None:
            await conn.execute(
                """INSERT INTO channel_mappings (property_id, mapping_type, internal_id,
                       external_id) VALUES ($1, 'rate_plan', $2, $3)""",
                site.property_id,
                plan,
                slot,
            )
    return plan


async def room_type(db: asyncpg.Pool, site: Site) -> UUID:
    async with db.acquire() as conn:
        found: UUID = await conn.fetchval(
            "SELECT id FROM room_types WHERE property_id = $1", site.property_id
        )
    return found


async def settled(db: asyncpg.Pool, site: Site) -> bool | None:
    async with db.acquire() as conn:
        busy = await conn.fetchval(
            """SELECT count(*) FROM channel_events WHERE property_id = $1
               AND status IN ('received', 'processing')""",
            site.property_id,
        )
    return True if busy == 0 else None


async def calendar(sandbox: SandboxHandle, site: Site, first: int, last: int) -> dict[date, Any]:
    """What Beds24 shows per night, with every include flag."""
    async with Beds24Client(sandbox.url, site.beds24.account.refresh_token) as client:
        [room] = await client.get_calendar([site.room_id], day(first), day(last), **INCLUDE)
    shown: dict[date, Any] = {}
    for span in room["calendar"]:
        start, end = date.fromisoformat(span["from"]), date.fromisoformat(span["to"])
        values = {k: v for k, v in span.items() if k not in ("from", "to")}
        for n in range((end - start).days + 1):
            shown[start + timedelta(days=n)] = values
    return shown


async def test_prices_and_restrictions_reach_beds24_and_hand_edits_are_repaired(
    settings_env: dict[str, str],
    db: asyncpg.Pool,
    beds24_sandbox: SandboxHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sandbox = beds24_sandbox
    async with connected(db, sandbox, monkeypatch) as site:
        await sandbox.configure(zero_without_price=True)  # as Beds24: no price, no sale
        await run_to_end(db, site, "initial")
        bar = await rate_plan(db, site, "BAR", "price1")
        flex = await rate_plan(db, site, "FLEX", "price3")
        kind = await room_type(db, site)
        async with db.acquire() as conn, conn.transaction():
            # One statement per table: 30 nights of two plans, and a week of rules.
            await conn.execute(
                """INSERT INTO room_rates (rate_plan_id, room_type_id, night, property_id, price)
                   SELECT p.id, $2, $3::date + n, $1,
                          CASE WHEN p.code = 'BAR' THEN 100 + n ELSE 90.5 END
                   FROM rate_plans p, generate_series(0, 29) n
                   WHERE p.property_id = $1""",
                site.property_id,
                kind,
                day(0),
            )
            await conn.execute(
                """INSERT INTO room_restrictions (room_type_id, night, property_id, min_stay,
                       max_stay, closed_to_arrival, closed_to_departure, stop_sell)
                   VALUES ($1, $3, $2, 3, NULL, false, false, false),
                          ($1, $4, $2, NULL, 7, true, false, false),
                          ($1, $5, $2, NULL, NULL, false, true, false),
                          ($1, $6, $2, NULL, NULL, true, true, false),
                          ($1, $7, $2, 2, NULL, true, true, true)""",
                kind,
                site.property_id,
                day(5),
                day(10),
                day(11),
                day(12),
                day(13),
            )
            captured = await conn.fetchval(
                """SELECT count(*) FROM channel_events WHERE property_id = $1
                   AND event_type IN ('pms.rates.update', 'pms.restrictions.update')
                   AND payload ? 'room_type_id'""",
                site.property_id,
            )
        assert captured == 3, "one event per statement, rate plan and Beds24 room"
        await wait_for(lambda: settled(db, site), timeout=30, what="the calendar events")

        shown = await calendar(sandbox, site, 0, 29)
        assert [shown[day(n)]["price1"] for n in range(30)] == [100 + n for n in range(30)]
        assert {shown[day(n)]["price3"] for n in range(30)} == {90.5}
        assert shown[day(5)]["minStay"] == 3 and shown[day(4)]["minStay"] == 1
        assert shown[day(10)]["maxStay"] == 7
        overrides = [shown[day(n)]["override"] for n in (9, 10, 11, 12, 13)]
        assert overrides == ["none", "noCheckIn", "noCheckOut", "noCheckInOrCheckOut", "blackout"]
        assert shown[day(13)]["numAvail"] == 0, "stop-sell closes the night"
        assert shown[day(14)]["numAvail"] == 3

        # A change reaches Beds24 by itself; a price of an unmapped plan fails alone.
        walk_in = await rate_plan(db, site, "WALKIN", None)
        async with db.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE room_rates SET price = 250 WHERE rate_plan_id = $1 AND night = $2",
                bar,
                day(3),
            )
            await conn.execute(
                """INSERT INTO room_rates (rate_plan_id, room_type_id, night, property_id, price)
                   VALUES ($1, $2, $3, $4, 80)""",
                walk_in,
                kind,
                day(3),
                site.property_id,
            )
        await wait_for(lambda: settled(db, site), timeout=30, what="the price change")
        assert (await calendar(sandbox, site, 3, 3))[day(3)]["price1"] == 250
        [failed] = await rows(
            db,
            """SELECT * FROM channel_events WHERE property_id = $1 AND status = 'failed'""",
            site.property_id,
        )
        assert failed["payload"]["rate_plan_id"] == str(walk_in)
        assert "'WALKIN'" in failed["last_error"] and "price slot" in failed["last_error"]

        # Hand edits in Beds24 (no webhook exists for these): found and repaired.
        async with Beds24Client(sandbox.url, site.beds24.account.refresh_token) as client:
            await client.write_calendar(
                [
                    calendar_item(site.room_id, {day(20): {"price1": 1.0}}),
                    calendar_item(site.room_id, {day(5): {"minStay": 1}}),
                    calendar_item(site.room_id, {day(21): {"override": "noCheckIn"}}),
                ]
            )
        reconciled = await run_to_end(db, site, "reconcile")
        found = {
            d["subject"]: d
            for d in await rows(
                db,
                "SELECT * FROM drift_records WHERE run_id = $1 AND kind = 'calendar_differs'",
                reconciled["id"],
            )
        }
        room = site.room_id
        assert set(found) == {
            f"room {room} {day(5)}..{day(5)}",
            f"room {room} {day(20)}..{day(21)}",
        }
        edited = found[f"room {room} {day(20)}..{day(21)}"]
        assert edited["status"] == "repaired"
        assert edited["beds24_value"] == {
            str(day(20)): {"price1": 1},
            str(day(21)): {"override": "noCheckIn"},
        }
        assert edited["pms_value"] == {
            str(day(20)): {"price1": 120},
            str(day(21)): {"override": "none"},
        }
        repaired = await calendar(sandbox, site, 5, 21)
        assert (repaired[day(5)]["minStay"], repaired[day(20)]["price1"]) == (3, 120)
        assert repaired[day(21)]["override"] == "none"
        assert flex  # both plans stayed mapped: price3 is still the PMS's
        assert {repaired[day(n)]["price3"] for n in (5, 20, 21)} == {90.5}

        again = await run_to_end(db, site, "reconcile")
        new = await rows(db, "SELECT * FROM drift_records WHERE last_run_id = $1", again["id"])
        assert again["progress"].get("drift_found", 0) == 0, [
            (d["kind"], d["subject"], d["beds24_value"], d["pms_value"]) for d in new
        ]
