"""Lost create answers resolved in bulk: one search of the property's recently modified
bookings decides every pending create of a batch (some made, some not, some of them deleted
or cancelled meanwhile), a lost search is simply searched again, and a realistic burst with
lost answers at Beds24's default credit limit ends with Beds24 equal to the PMS."""

from __future__ import annotations

import asyncio
import random
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from beds24_sandbox.handle import SandboxHandle
from channel_sync.beds24 import Beds24Client
from channel_sync.references import reference_info_item, reservation_reference
from channel_sync_testing.pms_changes import change_sql
from channel_sync_testing.waiting import wait_for
from outbound_worker import pending_creates

from .conftest import Connected, StartWorker, connect_hotel
from .factories import Hotel, insert_hotel, insert_reservation

D = date.today() + timedelta(days=60)
STATUS = {"confirmed": "confirmed", "cancelled": "cancelled"}


async def _all_settled(db: asyncpg.Pool) -> bool:
    async with db.acquire() as conn:
        open_events: int = await conn.fetchval(
            "SELECT count(*) FROM channel_events WHERE status NOT IN ('done', 'failed')"
        )
    return open_events == 0


async def _carrying(sandbox: SandboxHandle, property_id: int) -> dict[str, list[dict[str, Any]]]:
    """Beds24's bookings by our reference (apiReference or our info item)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for booking in await sandbox.bookings(property_id):
        references = {i["text"] for i in booking["infoItems"] if i["code"] == "PMSREF"}
        references.add(booking["apiReference"])
        for reference in references - {None, ""}:
            found.setdefault(reference, []).append(booking)
    return found


async def _linked(db: asyncpg.Pool, reservation: UUID) -> int | None:
    async with db.acquire() as conn:
        linked: int | None = await conn.fetchval(
            "SELECT beds24_booking_id FROM reservations WHERE id = $1", reservation
        )
    return linked


async def test_a_lost_batch_where_some_creates_were_made_is_resolved_with_one_search(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, connected: Connected, start_worker: StartWorker
) -> None:
    hotel, prop = connected
    # Six reservations whose one create call lost its answer: Beds24 made three of them.
    async with db.acquire() as conn:
        res = [
            await insert_reservation(
                conn,
                hotel,
                arrival=D + timedelta(days=2 * n),
                departure=D + timedelta(days=2 * n + 1),
            )
            for n in range(6)
        ]
        await pending_creates.note(conn, [(r, hotel.property_id) for r in res])
    made: dict[UUID, int] = {}
    async with Beds24Client(beds24_sandbox.url, prop.account.refresh_token) as client:
        results = await client.write_bookings(
            [
                {
                    "propertyId": prop.id,
                    "roomId": prop.room_ids[0],
                    "arrival": (D + timedelta(days=2 * n)).isoformat(),
                    "departure": (D + timedelta(days=2 * n + 1)).isoformat(),
                    "apiReference": reservation_reference(res[n]),
                    "infoItems": [reference_info_item(res[n])],
                }
                for n in range(3)
            ]
        )
        made = {res[n]: r.id for n, r in enumerate(results) if r.id is not None}
    assert len(made) == 3
    # While in doubt: one made and one not made are deleted, one of each cancelled.
    async with db.acquire() as conn:
        await conn.execute("DELETE FROM reservations WHERE id = ANY($1::uuid[])", [res[1], res[4]])
        await conn.execute(
            "UPDATE reservations SET status = 'cancelled' WHERE id = ANY($1::uuid[])",
            [res[2], res[5]],
        )
    await beds24_sandbox.clear_calls()
    await start_worker()
    await wait_for(lambda: _all_settled(db), timeout=20, what="every event settled")

    [search] = await beds24_sandbox.calls(method="GET", path="/bookings")  # one, for all six
    assert "modifiedFrom" in search["query"] and "includeInfoItems" in search["query"]
    carrying = await _carrying(beds24_sandbox, prop.id)
    by_res = {r: carrying.get(reservation_reference(r), []) for r in res}
    assert [len(by_res[r]) for r in res] == [1, 1, 1, 1, 0, 0]  # nothing made twice
    assert by_res[res[0]][0]["id"] == made[res[0]] == await _linked(db, res[0])  # adopted
    assert by_res[res[0]][0]["status"] == "confirmed"
    assert by_res[res[1]][0]["status"] == "cancelled"  # deleted in the PMS: no phantom stay
    assert by_res[res[2]][0]["id"] == made[res[2]] == await _linked(db, res[2])
    assert by_res[res[2]][0]["status"] == "cancelled"
    assert by_res[res[3]][0]["id"] == await _linked(db, res[3])  # not made: created now
    assert by_res[res[3]][0]["status"] == "confirmed"
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM beds24_pending_creates") == 0
        failed = await conn.fetchval("SELECT count(*) FROM channel_events WHERE status = 'failed'")
    assert failed == 0


async def test_a_second_lost_answer_during_the_resolution_is_resolved_on_retry(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, connected: Connected, start_worker: StartWorker
) -> None:
    hotel, prop = connected
    # The create call's answer is lost, then the answer of the search resolving it too.
    await beds24_sandbox.inject_fault("lost_response", method="POST", path="/bookings")
    await beds24_sandbox.inject_fault("lost_response", method="GET", path="/bookings")
    await start_worker()
    async with db.acquire() as conn, conn.transaction():  # one batch, one create call
        res = [
            await insert_reservation(
                conn,
                hotel,
                arrival=D + timedelta(days=2 * n),
                departure=D + timedelta(days=2 * n + 1),
            )
            for n in range(4)
        ]
    await wait_for(lambda: _all_settled(db), timeout=20, what="every event settled")

    searches = await beds24_sandbox.calls(method="GET", path="/bookings")
    assert [bool(c["fault"]) for c in searches] == [True, False]  # lost, then searched again
    [lost_post, *_] = await beds24_sandbox.calls(method="POST", path="/bookings")
    assert lost_post["fault"] and lost_post["items"] == 4
    carrying = await _carrying(beds24_sandbox, prop.id)
    for r in res:
        [booking] = carrying[reservation_reference(r)]  # made once, adopted, never repeated
        assert booking["id"] == await _linked(db, r)
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM beds24_pending_creates") == 0
        statuses = await conn.fetch(
            "SELECT status, count(*) FROM channel_events GROUP BY status ORDER BY status"
        )
    assert {s["status"] for s in statuses} == {"done"}


async def _num_avail(client: Beds24Client, room: int, first: date, last: date) -> dict[date, int]:
    [calendar] = await client.get_calendar([room], first, last)
    shown: dict[date, int] = {}
    for entry in calendar["calendar"]:
        day = date.fromisoformat(entry["from"])
        while day <= date.fromisoformat(entry["to"]):
            shown[day] = entry["numAvail"]
            day += timedelta(days=1)
    return shown


async def test_burst_with_lost_answers_at_the_default_credit_limit_ends_equal(
    db: asyncpg.Pool,
    beds24_sandbox: SandboxHandle,
    start_worker: StartWorker,
    database_url: str,
) -> None:
    rooms = 40
    prop = await beds24_sandbox.seed(rooms=[{"name": "Double", "qty": rooms}])  # 100 / 5 min
    async with db.acquire() as conn:
        hotel: Hotel = await insert_hotel(
            conn,
            rooms=rooms,
            beds24_property_id=prop.id,
            beds24_room_id=str(prop.room_ids[0]),
            account_id=str(prop.account.account_id),
            refresh_token=prop.account.refresh_token,
        )
    await beds24_sandbox.inject_fault("lost_response", count=2, method="POST", path="/bookings")
    await start_worker()
    slots: dict[UUID, date] = {}
    async with db.acquire() as conn, conn.transaction():
        for n in range(200):
            slot = D + timedelta(days=4 * (n // rooms))
            slots[
                await insert_reservation(
                    conn, hotel, room=n % rooms, arrival=slot, departure=slot + timedelta(days=2)
                )
            ] = slot
    ids = list(slots)
    rng = random.Random(12)
    changes = iter(range(2000))

    async def writer() -> None:  # concurrent PMS users editing the same reservations
        conn = await asyncpg.connect(database_url)
        try:
            for _ in changes:
                reservation = rng.choice(ids)
                sql, args = change_sql(rng, slots[reservation])
                await conn.execute(sql, reservation, *args)
        finally:
            await conn.close()

    await asyncio.gather(*(writer() for _ in range(3)))
    await wait_for(lambda: _all_settled(db), timeout=90, what="every event settled")

    calls = await beds24_sandbox.calls()
    credits = await beds24_sandbox.credits(prop.account.account_id)
    spent = sum(c["cost"] for c in calls)
    searches = [c for c in calls if c["method"] == "GET" and c["path"] == "/bookings"]
    lost = [c for c in calls if c["fault"]]
    print(
        f"\n2200 changes, {len(lost)} answers lost -> {len(calls)} Beds24 calls, "
        f"{spent:.2f} credits ({2200 / spent:.0f} changes per credit), "
        f"{len(searches)} searches, refused {credits['refused']}"
    )
    assert len(lost) == 2
    assert credits["refused"] == 0
    # Resolved in bulk (one search per lost batch, never one per reservation): at most
    # 5 credits for each lost answer of up to 200 creates.
    assert sum(c["cost"] for c in searches) <= 5 * len(lost)
    # Batches go as they come until half the window's credits are spent, then are spaced
    # so the rest lasts until the reset: well within one window, never dry.
    assert spent <= 55

    async with db.acquire() as conn:
        failed = await conn.fetchval("SELECT count(*) FROM channel_events WHERE status='failed'")
        pms = await conn.fetch(
            "SELECT id, arrival, departure, status, beds24_booking_id FROM reservations"
        )
    assert failed == 0
    carrying = await _carrying(beds24_sandbox, prop.id)
    for row in pms:
        bookings = carrying.get(reservation_reference(row["id"]), [])
        if row["beds24_booking_id"] is None:  # cancelled before it ever reached Beds24
            assert row["status"] == "cancelled" and bookings == []
            continue
        [booking] = bookings
        assert booking["id"] == row["beds24_booking_id"]
        assert (booking["arrival"], booking["departure"], booking["status"]) == (
            str(row["arrival"]),
            str(row["departure"]),
            STATUS[row["status"]],
        )
    first = D - timedelta(days=1)
    last = D + timedelta(days=4 * (200 // rooms) + 1)
    expected = {
        first + timedelta(days=n): rooms
        - sum(
            1
            for r in pms
            if r["status"] != "cancelled"
            and r["arrival"] <= first + timedelta(days=n) < r["departure"]
        )
        for n in range((last - first).days + 1)
    }
    async with Beds24Client(beds24_sandbox.url, prop.account.refresh_token) as client:
        assert await _num_avail(client, prop.room_ids[0], first, last) == expected


async def test_a_create_in_doubt_for_days_is_looked_up_on_its_own(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, connected: Connected, start_worker: StartWorker
) -> None:
    hotel, prop = connected
    async with db.acquire() as conn:
        res = await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=1))
        await pending_creates.note(conn, [(res, hotel.property_id)])
        await conn.execute(
            "UPDATE beds24_pending_creates SET started_at = now() - interval '3 days'"
        )
    await start_worker()
    await wait_for(lambda: _all_settled(db), timeout=20, what="every event settled")
    [by_reference, *_] = await beds24_sandbox.calls(method="GET", path="/bookings")
    # Too old for the bulk search (days of modified bookings): its own reference look-up.
    assert f"apiReference={reservation_reference(res)}" in by_reference["query"]
    [booking] = (await _carrying(beds24_sandbox, prop.id))[reservation_reference(res)]
    assert booking["id"] == await _linked(db, res)


async def test_batches_are_spaced_while_credits_are_short(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, start_worker: StartWorker
) -> None:
    hotel, prop = await connect_hotel(db, beds24_sandbox, units=2, window_s=20)
    # Always "short", and batches said to cost 20 of ~95 credits left for ~20 s: each batch
    # is followed by a pause of about 4 s.
    await start_worker(batch_window_ms=0, pace_below_credits=1000, batch_credits=20)
    async with db.acquire() as conn:
        res = await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=1))
    await wait_for(lambda: _all_settled(db), timeout=20, what="the create settled")

    async def published(event_count: int) -> bool:
        async with db.acquire() as conn:
            received: int = await conn.fetchval(
                "SELECT count(*) FROM channel_events WHERE status = 'received'"
            )
            total: int = await conn.fetchval("SELECT count(*) FROM channel_events")
        return received == 0 and total == event_count

    async with db.acquire() as conn:
        events: int = await conn.fetchval("SELECT count(*) FROM channel_events")
    for n in range(5):  # each change on its way before the next: without the pause, each
        async with db.acquire() as conn:  # would be a batch (and a call) of its own
            await conn.execute("UPDATE reservations SET adults = $2 WHERE id = $1", res, n + 3)
        events += 1
        await wait_for(lambda e=events: published(e), timeout=10, what="change published")
    await wait_for(lambda: _all_settled(db), timeout=30, what="every change settled")
    posts = await beds24_sandbox.calls(method="POST", path="/bookings")
    assert 2 <= len(posts) <= 3  # the create, then the five changes gathered during the pause
    [booking] = (await _carrying(beds24_sandbox, prop.id))[reservation_reference(res)]
    assert booking["numAdult"] == 7
    credits = await beds24_sandbox.credits(prop.account.account_id)
    assert credits["refused"] == 0
