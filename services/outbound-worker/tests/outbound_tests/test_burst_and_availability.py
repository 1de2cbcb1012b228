"""Many changes, few Beds24 calls; availability computed from PMS state."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import asyncpg
from beds24_sandbox.handle import SandboxHandle
from channel_sync.beds24 import Beds24Client
from channel_sync_testing.waiting import wait_for

from .conftest import Connected, StartWorker
from .factories import insert_hotel, insert_reservation

D = date.today() + timedelta(days=20)
STATUS = {"confirmed": "confirmed", "tentative": "request", "cancelled": "cancelled"}


async def _unsettled(db: asyncpg.Pool) -> int:
    async with db.acquire() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM channel_events WHERE status NOT IN ('done', 'failed')"
        )
    return count


async def _change(conn: asyncpg.Connection, rng: random.Random, res: Any, n: int) -> None:
    """One real change (never a no-op, which would rightly record no event)."""
    kind = rng.choice(["adults", "name", "stay", "move", "status"])
    sql = {
        "adults": "UPDATE reservations SET adults = adults % 4 + 1 WHERE id = $1",
        "name": "UPDATE reservations SET guest_last_name = 'Changed' || $2::int WHERE id = $1",
        "stay": "UPDATE reservations SET departure = CASE WHEN departure - arrival >= 5 "
        "THEN arrival + 1 ELSE departure + 1 END WHERE id = $1",
        "move": "UPDATE reservations SET arrival = arrival + 1, departure = departure + 1 "
        "WHERE id = $1",
        "status": "UPDATE reservations SET status = CASE status WHEN 'confirmed' THEN "
        "'tentative' WHEN 'tentative' THEN 'cancelled' ELSE 'confirmed' END "
        "WHERE id = $1",
    }[kind]
    args = (res, n) if kind == "name" else (res,)
    await conn.execute(sql, *args)


async def test_burst_of_1000_changes_to_50_reservations_on_two_replicas_ends_equal(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, start_worker: StartWorker
) -> None:
    prop = await beds24_sandbox.seed(rooms=[{"name": "Double", "qty": 50}], credit_limit=100)
    async with db.acquire() as conn:
        hotel = await insert_hotel(
            conn,
            rooms=50,
            beds24_property_id=prop.id,
            beds24_room_id=str(prop.room_ids[0]),
            account_id=str(prop.account.account_id),
            refresh_token=prop.account.refresh_token,
        )
    # Two replicas share the queue and the budget. Pacing (spacing batches once fewer than
    # 50 credits are left) is tested on its own; here a slow machine, which makes more and
    # smaller batches, could trigger it and stretch the burst over the 5-minute window.
    for _ in range(2):
        await start_worker(batch_window_ms=300, pace_below_credits=10)
    rng = random.Random(20260401)
    async with db.acquire() as conn:
        reservations = [
            await insert_reservation(
                conn,
                hotel,
                room=n,
                arrival=D,
                departure=D + timedelta(days=2),
                guest_last_name=f"Guest{n}",
            )
            for n in range(50)
        ]
        for n in range(950):  # each change its own transaction, as PMS users would make them
            await _change(conn, rng, rng.choice(reservations), n)
        events = await conn.fetchval(
            "SELECT count(*) FROM channel_events WHERE entity_type = 'booking'"
        )
    assert events == 1000
    await wait_for(lambda: _unsettled(db), timeout=1, what="work pending")  # not all at once
    try:
        await wait_for(lambda: _no(_unsettled(db)), timeout=60, what="every event settled")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{await _stuck_report(db, beds24_sandbox, prop)}") from None

    async with db.acquire() as conn:
        failed = await conn.fetchval("SELECT count(*) FROM channel_events WHERE status='failed'")
        pms = {
            r["id"]: r
            for r in await conn.fetch(
                "SELECT id, arrival, departure, status, adults, guest_last_name, "
                "beds24_booking_id FROM reservations"
            )
        }
    assert failed == 0
    in_beds24 = await beds24_sandbox.bookings(prop.id)
    by_reference = {b["apiReference"]: b for b in in_beds24}
    assert len(by_reference) == len(in_beds24)  # no reservation created twice
    # A reservation cancelled before its first sync never needs to exist in Beds24.
    never_sent = {i for i, r in pms.items() if r["beds24_booking_id"] is None}
    assert all(pms[i]["status"] == "cancelled" for i in never_sent)
    assert len(by_reference) == 50 - len(never_sent) >= 40
    for res_id, row in pms.items():
        if res_id in never_sent:
            assert f"pms-{res_id}" not in by_reference
            continue
        booking = by_reference[f"pms-{res_id}"]
        assert booking["id"] == row["beds24_booking_id"]
        assert (booking["arrival"], booking["departure"]) == (
            str(row["arrival"]),
            str(row["departure"]),
        )
        assert booking["status"] == STATUS[row["status"]]
        assert booking["numAdult"] == row["adults"]
        assert booking["lastName"] == row["guest_last_name"]

    calls = await beds24_sandbox.calls()
    credits = await beds24_sandbox.credits(prop.account.account_id)
    booking_posts = [c for c in calls if c["method"] == "POST" and c["path"] == "/bookings"]
    print(
        f"\nburst: 1000 booking changes (+ availability events) -> {len(calls)} Beds24 calls"
        f" ({len(booking_posts)} POST /bookings carrying {sum(c['items'] for c in booking_posts)}"
        f" items); credits left {credits['remaining']}, refused {credits['refused']}"
    )
    assert credits["refused"] == 0
    assert len(calls) < 100


async def _stuck_report(db: asyncpg.Pool, sandbox: SandboxHandle, prop: Any) -> str:
    """What an unsettled burst was waiting on: open events by state, and the account's credits."""
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT entity_type, status, attempts, published_at IS NOT NULL AS published, "
            "next_attempt_at > now() AS deferred, left(last_error, 120) AS error, count(*) "
            "FROM channel_events WHERE status NOT IN ('done', 'failed') GROUP BY 1, 2, 3, 4, 5, 6"
        )
        budget = await conn.fetch("SELECT * FROM beds24_credit_budgets")
    credits = await sandbox.credits(prop.account.account_id)
    return "\n".join(
        [*(str(dict(r)) for r in rows), f"budget: {[dict(b) for b in budget]}", f"{credits=}"]
    )


async def _no(count: Any) -> bool:
    return await count == 0


async def _num_avail(
    client: Beds24Client, room_id: int, first: date, last: date
) -> dict[date, int]:
    rooms = await client.get_calendar([room_id], first, last)
    days: dict[date, int] = {}
    for entry in rooms[0]["calendar"]:
        day, to = date.fromisoformat(entry["from"]), date.fromisoformat(entry["to"])
        while day <= to:
            days[day] = entry["numAvail"]
            day += timedelta(days=1)
    return days


async def test_reservation_lowers_num_avail_for_its_nights(
    db: asyncpg.Pool,
    beds24_sandbox: SandboxHandle,
    connected: Connected,
    start_worker: StartWorker,
) -> None:
    # Beds24 has 3 units; the PMS maps 2 rooms to them (pushed for the whole horizon when
    # the rooms were added): Beds24 shows the PMS's count, below its own 3 - 1 booked.
    hotel, prop = connected
    await start_worker()
    async with db.acquire() as conn:
        await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=2))
    client = Beds24Client(beds24_sandbox.url, prop.account.refresh_token)
    room = prop.room_ids[0]
    expected = {D - timedelta(days=1): 2, D: 1, D + timedelta(days=1): 1, D + timedelta(days=2): 2}

    async def shown() -> bool:
        got = await _num_avail(client, room, D - timedelta(days=1), D + timedelta(days=2))
        return got == expected

    async with client:
        await wait_for(shown, timeout=15, interval=0.3, what=f"numAvail {expected}")
        # Taking a PMS room out of service lowers every night from today on.
        async with db.acquire() as conn:
            await conn.execute(
                "UPDATE rooms SET is_active = false WHERE id = $1", hotel.room_ids[1]
            )
        expected = {
            D - timedelta(days=1): 1,
            D: 0,
            D + timedelta(days=1): 0,
            D + timedelta(days=2): 1,
        }
        await wait_for(shown, timeout=15, interval=0.3, what=f"numAvail {expected}")
