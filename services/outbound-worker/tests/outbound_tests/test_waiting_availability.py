"""A booking Beds24 sold that waits for a PMS room still holds a unit of its Beds24 room:
the availability the PMS pushes counts it, so Beds24 never sells that unit twice."""

from __future__ import annotations

from datetime import date, timedelta

import asyncpg
from outbound_worker import pms_state

from .factories import insert_hotel, insert_reservation

D = date.today() + timedelta(days=30)


async def test_a_booking_waiting_for_a_room_counts_against_its_beds24_room(
    db: asyncpg.Pool,
) -> None:
    nights = [D - timedelta(days=1), D, D + timedelta(days=1)]
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, connected=False)  # 2 PMS rooms mapped to 5001
        await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=1))
        assert await pms_state.availability(conn, hotel.property_id, "5001", nights) == {
            nights[0]: 2,
            nights[1]: 1,
            nights[2]: 2,
        }
        await conn.execute(
            """INSERT INTO reservations (property_id, room_id, arrival, departure,
                   beds24_booking_id, beds24_room_id, needs_attention, attention_reason)
               VALUES ($1, NULL, $2, $3, 777, '5001', true, 'no free PMS room')""",
            hotel.property_id,
            D,
            D + timedelta(days=2),
        )
        assert await pms_state.availability(conn, hotel.property_id, "5001", nights) == {
            nights[0]: 2,
            nights[1]: 0,
            nights[2]: 1,
        }
        # A booking waiting for another Beds24 room holds nothing here.
        await conn.execute(
            """UPDATE reservations SET beds24_room_id = '5002' WHERE beds24_booking_id = 777"""
        )
        assert (await pms_state.availability(conn, hotel.property_id, "5001", nights))[D] == 1
