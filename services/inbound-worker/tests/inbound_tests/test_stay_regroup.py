"""Beds24 regrouping bookings, one webhook at a time: stays merge when Beds24's group says two
PMS stays are one, a booking that leaves a group is no longer listed by its old stay, and a
stay change the desk made and Beds24 does not know yet is never undone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from channel_sync.errors import RetryAfter
from channel_sync.events import EventMessage
from inbound_worker.handler import InboundHandler

from .support import Hotel, NoBeds24, booking, insert_hotel, reservations, store_event

ROOMS = ("101", "102", "103", "104")


async def _apply(db: asyncpg.Pool, hotel: Hotel, raw: dict[str, Any]) -> None:
    event = await store_event(db, hotel.property_id, raw)
    await InboundHandler(db, NoBeds24())(EventMessage.for_event(event))


def _member(booking_id: int, master: int, ids: list[int], minute: int) -> dict[str, Any]:
    return booking(
        booking_id,
        masterId=master,
        bookingGroup={"master": master, "ids": ids},
        apiReference=f"OTA-{booking_id}",
        modifiedTime=f"2031-05-01T09:{minute:02d}:00Z",
    )


async def _stays(db: asyncpg.Pool) -> list[tuple[int | None, list[int], list[int]]]:
    """Each stay: its master, the group ids it lists, the Beds24 ids of its rooms."""
    async with db.acquire() as conn:
        rows = await conn.fetch(
            """SELECT s.beds24_master_id, s.beds24_group_ids,
                      array_agg(r.beds24_booking_id ORDER BY r.beds24_booking_id) AS held
               FROM stays s LEFT JOIN reservations r ON r.stay_id = s.id
               GROUP BY s.id ORDER BY s.beds24_master_id"""
        )
    return [(r["beds24_master_id"], sorted(r["beds24_group_ids"]), r["held"]) for r in rows]


async def test_a_group_re_pointed_to_another_master_one_booking_at_a_time_stays_one_stay(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, rooms=ROOMS)
    for n, booking_id in enumerate((6, 7, 8)):
        await _apply(db, hotel, _member(booking_id, 6, [6, 7, 8], n))
    assert await _stays(db) == [(6, [6, 7, 8], [6, 7, 8])]

    # An operator in Beds24 makes 7 the master: 7 first, then 8, then 6, each webhook
    # applied before the next (the group as Beds24 lists it after each edit).
    await _apply(db, hotel, _member(7, 7, [7], 10))
    await _apply(db, hotel, _member(8, 7, [7, 8], 11))
    await _apply(db, hotel, _member(6, 7, [6, 7, 8], 12))

    assert await _stays(db) == [(7, [6, 7, 8], [6, 7, 8])]  # one stay, master 7
    rows = await reservations(db)
    assert len({r["stay_id"] for r in rows}) == 1
    async with db.acquire() as conn:
        notes = await conn.fetch("SELECT outcome_note FROM channel_events ORDER BY received_at")
    assert any("merged into stay" in (n["outcome_note"] or "") for n in notes)


async def test_a_re_pointing_seen_in_any_order_ends_as_one_stay(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, rooms=ROOMS)
    for n, booking_id in enumerate((6, 7, 8)):
        await _apply(db, hotel, _member(booking_id, 6, [6, 7, 8], n))
    # The master's own webhook first this time, then the others.
    await _apply(db, hotel, _member(6, 7, [6, 7, 8], 12))
    await _apply(db, hotel, _member(8, 7, [6, 7, 8], 13))
    await _apply(db, hotel, _member(7, 7, [6, 7, 8], 14))
    assert await _stays(db) == [(7, [6, 7, 8], [6, 7, 8])]


async def test_a_group_split_in_beds24_splits_the_stay(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, rooms=ROOMS)
    for n, booking_id in enumerate((6, 7, 8)):
        await _apply(db, hotel, _member(booking_id, 6, [6, 7, 8], n))
    await _apply(db, hotel, _member(7, 7, [7, 8], 10))
    await _apply(db, hotel, _member(8, 7, [7, 8], 11))
    assert await _stays(db) == [(6, [6], [6]), (7, [7, 8], [7, 8])]


async def test_a_booking_moved_to_another_group_leaves_its_old_stays_list(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, rooms=ROOMS)
    for n, booking_id in enumerate((9, 10, 11)):
        await _apply(db, hotel, _member(booking_id, 9, [9, 10, 11], n))
    await _apply(db, hotel, _member(12, 12, [12], 5))
    await _apply(db, hotel, _member(11, 12, [11, 12], 10))  # 11 moves to group 12

    assert await _stays(db) == [(9, [9, 10], [9, 10]), (12, [11, 12], [11, 12])]


async def test_a_room_the_desk_moved_is_not_moved_back_before_beds24_knows(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, rooms=ROOMS)
    start = datetime.now(UTC) - timedelta(minutes=30)

    def at(minute: int) -> str:
        return (start + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")

    for n, (booking_id, master, ids) in enumerate(
        ((6, 6, [6, 7]), (7, 6, [6, 7]), (8, 8, [8, 9]), (9, 8, [8, 9]))
    ):
        await _apply(db, hotel, {**_member(booking_id, master, ids, 0), "modifiedTime": at(n)})
    async with db.acquire() as conn:
        await conn.execute(  # the desk moves 7's room to 8's stay (the hotel is connected)
            """UPDATE reservations SET stay_id = (SELECT stay_id FROM reservations
                                                  WHERE beds24_booking_id = 8)
               WHERE beds24_booking_id = 7"""
        )
        captured = await conn.fetchval(
            """SELECT payload FROM channel_events WHERE direction = 'outbound'
                 AND entity_type = 'booking' AND entity_external_id = '7'"""
        )
    assert captured["stay_changed"] is True  # sent to Beds24 as a group change

    # Beds24 changes booking 7 meanwhile (still in the old group): it waits for the push.
    with pytest.raises(RetryAfter):
        await _apply(db, hotel, {**_member(7, 6, [6, 7], 0), "modifiedTime": at(10)})
    # A member of the old group lists 7: the desk's move stands, the operator is told.
    await _apply(db, hotel, {**_member(6, 6, [6, 7], 0), "modifiedTime": at(11)})
    assert await _stays(db) == [(6, [6, 7], [6]), (8, [8, 9], [7, 8, 9])]
    rows = {r["beds24_booking_id"]: r for r in await reservations(db)}
    assert rows[7]["needs_attention"] and "not yet in Beds24" in rows[7]["attention_reason"]

    # The push is made (Beds24 now has 7 in group 8); a listing of 6 stamped before it,
    # delivered late, no longer speaks for 7.
    async with db.acquire() as conn:
        await conn.execute("UPDATE channel_events SET status = 'done' WHERE direction = 'outbound'")
        await conn.execute(
            "UPDATE reservations SET beds24_pushed_at = $1 WHERE beds24_booking_id = 7",
            start + timedelta(minutes=20),
        )
    await _apply(db, hotel, {**_member(6, 6, [6, 7], 0), "modifiedTime": at(15)})
    assert await _stays(db) == [(6, [6, 7], [6]), (8, [8, 9], [7, 8, 9])]


async def test_a_room_qty_lowered_to_one_cancels_the_extra_room(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, rooms=ROOMS)
    two = booking(70001, roomQty=2, modifiedTime="2031-05-01T09:00:00Z")
    await _apply(db, hotel, two)
    assert [r["status"] for r in await reservations(db)] == ["confirmed", "confirmed"]

    await _apply(db, hotel, {**two, "roomQty": 1, "modifiedTime": "2031-05-01T10:00:00Z"})

    rows = await reservations(db)
    held = [r for r in rows if r["status"] != "cancelled"]
    assert len(rows) == 2 and len(held) == 1 and held[0]["beds24_booking_id"] == 70001
