"""A create waits while the property's initial sync has not read all of Beds24, or has
found the reservation's Beds24 booking (by its code or our reference) and not linked it
yet: sent now, it could double a stay Beds24 already holds. Other sends go on."""

from __future__ import annotations

from uuid import UUID, uuid4

import asyncpg
from outbound_worker.bookings import BookingWork, _creates_allowed, _Send

from .factories import insert_hotel


def send(property_id: UUID, *, creates: bool) -> _Send:
    work = BookingWork(uuid4(), property_id, 1234, [uuid4()])
    return _Send(work, {"roomId": 1}, creates=creates)


async def test_creates_wait_while_the_initial_sync_matches(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn)
        prop = hotel.property_id
        create, update = send(prop, creates=True), send(prop, creates=False)
        run = await conn.fetchval(
            """INSERT INTO sync_runs (property_id, kind, status, stage)
               VALUES ($1, 'initial', 'running', 'bookings') RETURNING id""",
            prop,
        )
        assert await _creates_allowed(conn, [create, update]) == ([update], [create])

        claimed = send(prop, creates=True)
        cursor = {"claimed": [str(claimed.work.reservation_id)]}
        await conn.execute(
            "UPDATE sync_runs SET stage = 'reservations', cursor = $2 WHERE id = $1",
            run,
            cursor,
        )
        assert await _creates_allowed(conn, [create, claimed]) == ([create], [claimed])

        await conn.execute(
            "UPDATE sync_runs SET status = 'done', stage = 'finished' WHERE id = $1", run
        )
        assert await _creates_allowed(conn, [create, claimed]) == ([create, claimed], [])
