"""Bookings new to the PMS created together (`new_bookings`), on real Postgres: only the
ones the one-booking path would simply create take this path, and they end exactly as the
one-booking path leaves them (same rooms, same flags), rooms taken earlier in the batch
counting against later bookings."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import asyncpg
from channel_sync.events import ChannelEvent, EventMessage
from inbound_worker.booking import read_booking
from inbound_worker.handler import InboundHandler
from inbound_worker.new_bookings import apply_new_bookings
from inbound_worker.placement import OCCUPYING

from .support import (
    BEDS24_PROPERTY_ID,
    Hotel,
    NoBeds24,
    booking,
    event_row,
    insert_hotel,
    map_unit,
    reservations,
    store_event,
)
from .test_batch import batch_of

ROOMS = ("101", "102", "103", "104")


def _random_bookings(seed: int, first_id: int, count: int) -> list[dict[str, Any]]:
    """New bookings crowding four rooms over three weeks: some find no room, some are
    cancelled or requests, some name the unit mapped to room 103."""
    rng = random.Random(seed)
    found = []
    for n in range(count):
        arrival = date(2031, 8, 1) + timedelta(days=rng.randrange(21))
        departure = arrival + timedelta(days=rng.randint(1, 5))
        found.append(
            booking(
                first_id + n,
                arrival=arrival.isoformat(),
                departure=departure.isoformat(),
                status=rng.choice(["confirmed"] * 6 + ["cancelled", "request", "inquiry"]),
                unitId=rng.choice([0, 0, 0, 7]),
                apiReference=f"BDC-{seed}-{n}",
            )
        )
    return found


async def _crowded_hotel(conn: asyncpg.Connection, beds24_room_id: int, property_id: int) -> Hotel:
    hotel = await insert_hotel(
        conn, rooms=ROOMS, beds24_room_id=beds24_room_id, beds24_property_id=property_id
    )
    await conn.execute(
        """INSERT INTO channel_mappings (property_id, mapping_type, internal_id, external_id,
               external_unit_id) VALUES ($1, 'room', $2, $3, '7')""",
        hotel.property_id,
        hotel.rooms["103"],
        str(beds24_room_id),
    )
    # The front desk's own stays hold two of the rooms for part of the time.
    for room, arrival, nights in (("101", 3, 6), ("104", 10, 4)):
        await conn.execute(
            """INSERT INTO reservations (property_id, room_id, status, arrival, departure,
                   guest_last_name) VALUES ($1, $2, 'confirmed', $3, $4, 'Desk')""",
            hotel.property_id,
            hotel.rooms[room],
            date(2031, 8, 1) + timedelta(days=arrival),
            date(2031, 8, 1) + timedelta(days=arrival + nights),
        )
    return hotel


async def _placed(db: asyncpg.Pool, property_id: Any) -> list[tuple[int, str | None, bool, str]]:
    """Per booking, in booking order: its room, whether flagged, its status."""
    return [
        (r["beds24_booking_id"] % 1000, r["room_name"], r["needs_attention"], r["status"])
        for r in await reservations(db)
        if r["property_id"] == property_id and r["beds24_booking_id"] is not None
    ]


async def test_bookings_created_together_end_as_the_one_booking_path_leaves_them(
    db: asyncpg.Pool,
) -> None:
    for seed in (1, 2, 3):
        async with db.acquire() as conn:
            together = await _crowded_hotel(conn, 6100 + seed, 616100 + seed)
            alone = await _crowded_hotel(conn, 6200 + seed, 616200 + seed)
        first = 90_000_000 + seed * 10_000
        events = [
            await store_event(
                db,
                together.property_id,
                {**raw, "roomId": 6100 + seed, "propertyId": 616100 + seed},
            )
            for raw in _random_bookings(seed, first, 60)
        ]
        outcomes = await batch_of(db)([EventMessage.for_event(e) for e in events])
        assert outcomes == dict.fromkeys((e.id for e in events), None)

        handler = InboundHandler(db, NoBeds24())
        for raw in _random_bookings(seed, first + 1000, 60):
            event = await store_event(
                db, alone.property_id, {**raw, "roomId": 6200 + seed, "propertyId": 616200 + seed}
            )
            await handler(EventMessage.for_event(event))

        placed = await _placed(db, together.property_id)
        assert len(placed) == 60
        assert placed == await _placed(db, alone.property_id), f"seed {seed}"
        assert any(flagged for _, _, flagged, _ in placed), "the hotel is crowded enough"
        assert any(room == "103" for _, room, _, _ in placed)
        for event in events:
            row = await event_row(db, event.id)
            assert row["status"] == "done"
            assert row["entity_internal_id"] is not None


async def test_only_bookings_new_to_the_pms_are_created_together(
    db: asyncpg.Pool, hotel: Hotel
) -> None:
    async with db.acquire() as conn:
        await map_unit(conn, hotel, "102", 3)
        typed = await conn.fetchval(  # typed in at the desk with the OTA's code
            """INSERT INTO reservations (property_id, status, arrival, departure,
                   guest_last_name, channel, channel_reference)
               VALUES ($1, 'confirmed', '2031-09-01', '2031-09-03', 'Typed', 'Booking.com',
                       'BDC-TYPED') RETURNING id""",
            hotel.property_id,
        )
    known = await store_event(db, hotel.property_id, booking(85001))
    await batch_of(db)([EventMessage.for_event(known)])

    def raw(booking_id: int, **fields: Any) -> dict[str, Any]:
        return booking(booking_id, **{"arrival": "2031-09-10", "departure": "2031-09-12", **fields})

    stored = {
        "new": await store_event(db, hotel.property_id, raw(85002, apiReference="BDC-NEW")),
        "known": await store_event(
            db, hotel.property_id, raw(85001, modifiedTime="2031-05-02T09:00:00Z")
        ),
        "typed": await store_event(
            db,
            hotel.property_id,
            raw(85003, apiReference="BDC-TYPED", arrival="2031-09-01", departure="2031-09-03"),
        ),
        "group": await store_event(db, hotel.property_id, raw(85004, masterId=85004, roomQty=2)),
        "other property": await store_event(
            db, hotel.property_id, raw(85005, propertyId=BEDS24_PROPERTY_ID + 1)
        ),
        "ours": await store_event(db, hotel.property_id, raw(85006, apiReference=f"pms-{typed}")),
    }
    pairs = sorted(
        ((e, read_booking(e.payload["booking"])) for e in stored.values()),
        key=lambda pair: pair[1].booking_id,
    )
    async with db.acquire() as conn:
        looked_at = conn.transaction()
        await looked_at.start()
        try:
            result = await apply_new_bookings(conn, pairs)
        finally:
            await looked_at.rollback()
    assert [e.id for e, _, _ in result.created] == [stored["new"].id]
    assert {e.id for e, _ in result.rest} == {e.id for n, e in stored.items() if n != "new"}
    assert result.settled == []
    # The batch as a whole: the typed-in stay is matched (not doubled), the rest as usual.
    outcomes = await batch_of(db)([EventMessage.for_event(e) for e in stored.values()])
    assert outcomes[stored["new"].id] is None
    assert outcomes[stored["typed"].id] is None
    by_booking = {r["beds24_booking_id"]: r for r in await reservations(db)}
    assert by_booking[85003]["id"] == typed
    assert by_booking[85002]["room_name"] is not None
    assert sum(1 for r in await reservations(db) if r["channel_reference"] == "BDC-TYPED") == 1


async def test_a_booking_settled_meanwhile_is_left_alone(db: asyncpg.Pool, hotel: Hotel) -> None:
    event = await store_event(db, hotel.property_id, booking(86001))
    await batch_of(db)([EventMessage.for_event(event)])
    again: ChannelEvent = event
    async with db.acquire() as conn, conn.transaction():
        result = await apply_new_bookings(conn, [(again, read_booking(booking(86001)))])
    assert result.created == [] and result.rest == [] and result.settled == [again]
    assert len(await reservations(db)) == 1


async def test_the_statuses_that_hold_a_room_are_postgres_own(db: asyncpg.Pool) -> None:
    statuses = ["confirmed", "tentative", "inquiry", "blocked", "cancelled"]
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT s FROM unnest($1::text[]) AS s WHERE channel_sync_occupies(s)", statuses
        )
    assert {r["s"] for r in rows} == OCCUPYING
