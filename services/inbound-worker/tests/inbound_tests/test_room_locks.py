"""A transaction placing several bookings locks all their candidate rooms at once, in id
order (`placement.lock_rooms_for`), so two inbound batches never each hold rooms the other
waits for (booking by booking, three replicas' batches deadlocked under load)."""

from __future__ import annotations

import asyncpg
from inbound_worker.placement import lock_rooms_for

from .support import insert_hotel


async def test_every_candidate_room_of_the_batch_is_locked_and_no_other(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn:
        first = await insert_hotel(conn, beds24_property_id=7101, beds24_room_id=71011)
        second = await insert_hotel(conn, beds24_property_id=7102, beds24_room_id=71021)
        elsewhere = await insert_hotel(conn, beds24_property_id=7103, beds24_room_id=71031)
    every_room = [room for hotel in (first, second, elsewhere) for room in hotel.rooms.values()]

    async with db.acquire() as batch, batch.transaction():
        await lock_rooms_for(batch, [(first.property_id, "71011"), (second.property_id, "71021")])
        async with db.acquire() as other, other.transaction():
            free = await other.fetch(
                """SELECT id FROM rooms WHERE id = ANY($1::uuid[])
                   FOR NO KEY UPDATE SKIP LOCKED""",
                every_room,
            )

    assert {r["id"] for r in free} == set(elsewhere.rooms.values())
