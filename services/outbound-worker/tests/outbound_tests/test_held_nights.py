"""A Beds24 booking the PMS no longer holds, waiting for an operator's decision, keeps its
nights: the availability the PMS offers Beds24 does not free them until decided."""

from __future__ import annotations

from datetime import date, timedelta

import asyncpg
from channel_sync.pms_availability import free_units

from .factories import insert_hotel

NIGHT = date.today() + timedelta(days=20)


async def test_an_open_deletion_holds_its_nights_until_decided(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, rooms=2)
        nights = [NIGHT, NIGHT + timedelta(days=1), NIGHT + timedelta(days=2)]
        assert await free_units(conn, hotel.property_id, hotel.beds24_room_id, nights) == {
            n: 2 for n in nights
        }
        drift_id = await conn.fetchval(
            """INSERT INTO drift_records (property_id, kind, subject, beds24_value, status)
               VALUES ($1, 'missing_in_pms', 'booking 4242', $2::jsonb, 'open') RETURNING id""",
            hotel.property_id,
            {  # what a run keeps of the Beds24 booking (`bookings_stage._summary`)
                "arrival": NIGHT.isoformat(),
                "departure": (NIGHT + timedelta(days=2)).isoformat(),
                "status": "confirmed",
                "roomId": int(hotel.beds24_room_id),
            },
        )
        held = await free_units(conn, hotel.property_id, hotel.beds24_room_id, nights)
        assert held == {nights[0]: 1, nights[1]: 1, nights[2]: 2}

        await conn.execute("UPDATE drift_records SET status = 'resolved' WHERE id = $1", drift_id)
        decided = await free_units(conn, hotel.property_id, hotel.beds24_room_id, nights)
        assert decided == {n: 2 for n in nights}
