"""Outbound capture: triggers (migration 0004) and channel_sync.pms_changes, on real Postgres."""

from __future__ import annotations

from datetime import date, timedelta

import asyncpg
import pytest
from channel_sync.pms_changes import (
    NotInTransaction,
    record_availability_of,
    record_reservation_change,
    record_room_availability_change,
)
from channel_sync.pms_origin import capture_deferred, mark_beds24_origin

from .factories import insert_hotel, insert_reservation, outbound_events

D = date(2031, 3, 10)


def _types(rows: list[asyncpg.Record]) -> list[str]:
    return [r["event_type"] for r in rows]


async def test_insert_records_create_and_availability_for_its_nights(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, beds24_room_id="777")
        await conn.execute("DELETE FROM channel_events")
        res = await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=3))
        rows = await outbound_events(conn)
    assert _types(rows) == ["pms.booking.create", "pms.availability.update"]
    booking, availability = rows
    assert booking["entity_internal_id"] == res and booking["status"] == "received"
    assert booking["payload"] == {"reservation_id": str(res), "beds24_booking_id": None}
    assert availability["payload"] == {
        "beds24_room_id": "777",
        "from": str(D),
        "to": str(D + timedelta(days=2)),
    }
    assert len({r["idempotency_key"] for r in rows}) == 2


async def test_each_change_gets_its_own_event_and_key(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn)
        res = await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=2))
        await conn.execute("DELETE FROM channel_events")
        await conn.execute("UPDATE reservations SET adults = 3 WHERE id = $1", res)
        await conn.execute("UPDATE reservations SET adults = 4 WHERE id = $1", res)
        # Moving the stay: one availability event covering old and new nights (overlapping).
        await conn.execute("UPDATE reservations SET departure = departure + 1 WHERE id = $1", res)
        await conn.execute("UPDATE reservations SET status = 'cancelled' WHERE id = $1", res)
        rows = await outbound_events(conn)
    assert _types(rows) == [
        "pms.booking.update",
        "pms.booking.update",
        "pms.booking.update",
        "pms.availability.update",
        "pms.booking.cancel",
        "pms.availability.update",
    ]
    assert len({r["idempotency_key"] for r in rows}) == len(rows)
    assert rows[3]["payload"]["from"] == str(D)
    assert rows[3]["payload"]["to"] == str(D + timedelta(days=2))


async def test_moving_to_another_room_of_the_same_beds24_room_changes_no_availability(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn)
        res = await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=2))
        await conn.execute("DELETE FROM channel_events")
        await conn.execute(
            "UPDATE reservations SET room_id = $2 WHERE id = $1", res, hotel.room_ids[1]
        )
        rows = await outbound_events(conn)
    assert _types(rows) == ["pms.booking.update"]


async def test_bookkeeping_columns_record_nothing(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn)
        res = await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=2))
        await conn.execute("DELETE FROM channel_events")
        await conn.execute(
            "UPDATE reservations SET beds24_booking_id = 42, updated_at = now(), "
            "needs_attention = false WHERE id = $1",
            res,
        )
        assert await outbound_events(conn) == []


async def test_rolled_back_change_records_nothing(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn)
        await conn.execute("DELETE FROM channel_events")
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=1))
                assert len(await outbound_events(conn)) == 2  # visible inside the transaction
                raise RuntimeError("PMS aborts")
        assert await outbound_events(conn) == []


async def test_changes_applied_from_beds24_are_not_echoed(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn)
        await conn.execute("DELETE FROM channel_events")
        async with conn.transaction():
            await mark_beds24_origin(conn)
            res = await insert_reservation(
                conn, hotel, arrival=D, departure=D + timedelta(days=1), beds24_booking_id=9
            )
            await conn.execute("UPDATE reservations SET adults = 1 WHERE id = $1", res)
            assert await record_reservation_change(conn, res) is None
        # No booking goes back to Beds24; the nights it takes are offered anew (0006).
        assert _types(await outbound_events(conn)) == ["pms.availability.update"]
        # The marker is transaction-local: the next PMS change is captured again.
        await conn.execute("UPDATE reservations SET adults = 2 WHERE id = $1", res)
        assert _types(await outbound_events(conn))[1:] == ["pms.booking.update"]


async def test_deferred_capture_records_one_span_per_room_for_the_rows_written(
    db: asyncpg.Pool,
) -> None:
    """Beds24's new bookings inserted together: the trigger skips them and the caller
    records one availability event per Beds24 room spanning their nights (not a cancelled
    one's); the trigger captures as before once the block ends."""
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, beds24_room_id="777")
        await conn.execute("DELETE FROM channel_events")
        async with conn.transaction():
            await mark_beds24_origin(conn)
            async with capture_deferred(conn):
                written = [
                    await insert_reservation(
                        conn, hotel, arrival=D + timedelta(days=a), departure=D + timedelta(days=d)
                    )
                    for a, d in ((0, 2), (5, 9), (1, 3))
                ]
                cancelled = await insert_reservation(
                    conn, hotel, arrival=D, departure=D + timedelta(days=30), status="cancelled"
                )
                assert await outbound_events(conn) == []
            assert await record_availability_of(conn, [*written, cancelled]) == 1
            await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=1))
        rows = await outbound_events(conn)
    assert [r["payload"] for r in rows] == [
        {"beds24_room_id": "777", "from": str(D), "to": str(D + timedelta(days=8))},
        {"beds24_room_id": "777", "from": str(D), "to": str(D)},
    ]
    assert rows[0]["entity_internal_id"] is None  # several reservations: no single source


async def test_properties_not_connected_to_beds24_record_nothing(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, connected=False)
        await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=1))
        assert await outbound_events(conn) == []


async def test_delete_records_cancel_carrying_the_beds24_id(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn)
        res = await insert_reservation(
            conn, hotel, arrival=D, departure=D + timedelta(days=1), beds24_booking_id=4242
        )
        await conn.execute("DELETE FROM channel_events")
        await conn.execute("DELETE FROM reservations WHERE id = $1", res)
        rows = await outbound_events(conn)
    assert _types(rows) == ["pms.booking.cancel", "pms.availability.update"]
    assert rows[0]["payload"]["beds24_booking_id"] == 4242
    assert rows[0]["entity_external_id"] == "4242"


async def test_rooms_joining_or_leaving_a_mapping_record_open_ended_availability(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, beds24_room_id="900")
        await conn.execute("DELETE FROM channel_events")
        room = await conn.fetchval(
            "INSERT INTO rooms (property_id, room_type_id, name) VALUES ($1, $2, '201') "
            "RETURNING id",
            hotel.property_id,
            hotel.room_type_id,
        )
        await conn.execute("UPDATE rooms SET is_active = false WHERE id = $1", room)
        await conn.execute("UPDATE rooms SET name = 'renamed' WHERE id = $1", room)
        # A room mapping of its own moves a room to another Beds24 room: both change.
        await conn.execute(
            "INSERT INTO channel_mappings (property_id, mapping_type, internal_id, external_id) "
            "VALUES ($1, 'room', $2, '901')",
            hotel.property_id,
            hotel.room_ids[0],
        )
        rows = await outbound_events(conn)
    assert _types(rows) == ["pms.availability.update"] * 3
    assert [r["payload"]["beds24_room_id"] for r in rows] == ["900", "900", "901"]
    assert all(r["payload"]["to"] is None for r in rows)
    assert rows[0]["payload"]["from"] == str(date.today())


async def test_deleting_a_connected_hotel_cascades_without_events(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn)
        await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=1))
        await conn.execute("DELETE FROM hotel_settings WHERE id = $1", hotel.property_id)
        assert await outbound_events(conn) == []


async def test_explicit_recording_joins_the_callers_transaction(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, beds24_room_id="333")
        res = await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=1))
        await conn.execute("DELETE FROM channel_events")
        with pytest.raises(NotInTransaction):
            await record_reservation_change(conn, res)
        async with conn.transaction():
            event_id = await record_reservation_change(conn, res, correlation_id="c-1")
            await record_room_availability_change(conn, hotel.room_ids[1], D, D)
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await record_reservation_change(conn, res)
                raise RuntimeError("rolled back")
        rows = await outbound_events(conn)
        correlation = await conn.fetchval(
            "SELECT correlation_id FROM channel_events WHERE id = $1", event_id
        )
    assert _types(rows) == ["pms.booking.create", "pms.availability.update"]
    assert rows[1]["payload"] == {"beds24_room_id": "333", "from": str(D), "to": str(D)}
    assert correlation == "c-1"
