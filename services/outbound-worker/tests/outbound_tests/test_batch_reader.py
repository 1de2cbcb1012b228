"""The batch reader's questions (`outbound_worker.ports.PostgresBatches`), answered by the
real database: which events a batch takes in from other replicas, and which open events of
the reservations it sends ride along. Reservations are inserted with their capture events;
each case then sets one event's status as the relay or a retry would leave it."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from uuid import UUID

import asyncpg
from outbound_worker.ports import PostgresBatches

from .factories import Hotel, insert_hotel, insert_reservation

D = date.today() + timedelta(days=40)


async def _booking_event(conn: asyncpg.Connection, hotel: Hotel, room: int) -> tuple[UUID, UUID]:
    """A new reservation and its captured create event: (reservation id, event id)."""
    reservation = await insert_reservation(
        conn, hotel, room=room, arrival=D, departure=D + timedelta(days=1)
    )
    event: UUID = await conn.fetchval(
        """SELECT id FROM channel_events
           WHERE entity_internal_id = $1 AND entity_type = 'booking'""",
        reservation,
    )
    return reservation, event


async def _set(conn: asyncpg.Connection, event: UUID, sql: str) -> None:
    await conn.execute(f"UPDATE channel_events SET {sql} WHERE id = $1", event)


async def test_untried_events_are_taken_in_published_or_committed_and_due(
    db: asyncpg.Pool,
) -> None:
    account = f"acct-{uuid.uuid4().hex[:8]}"
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, account_id=account, rooms=6)
        other = await insert_hotel(conn, account_id=f"other-{account}")
        names = ("published", "unpublished", "waiting", "tried", "handed", "done")
        cases = {name: (await _booking_event(conn, hotel, n))[1] for n, name in enumerate(names)}
        _, other_account = await _booking_event(conn, other, 0)
        await conn.execute(  # the cases published; the rest (availability) sent already
            """UPDATE channel_events
               SET status = CASE WHEN id = ANY($2::uuid[]) THEN 'processing' ELSE 'done' END
               WHERE property_id = $1""",
            hotel.property_id,
            list(cases.values()),
        )
        await _set(conn, cases["unpublished"], "status = 'received', next_attempt_at = now()")
        await _set(  # a wait handed back to the relay: kept until it is due
            conn,
            cases["waiting"],
            "status = 'received', next_attempt_at = now() + interval '1 minute'",
        )
        await _set(conn, cases["tried"], "attempts = 1")
        await _set(conn, cases["done"], "status = 'done'")
        await _set(conn, other_account, "status = 'processing'")

    untried = await PostgresBatches(db).untried_of_account(account, [cases["handed"]], 100)

    assert set(untried) == {cases["published"], cases["unpublished"]}


async def test_open_events_of_reservations_are_every_booking_event_not_yet_settled(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, rooms=3)
        first, created = await _booking_event(conn, hotel, 0)
        await conn.execute("UPDATE reservations SET adults = 3 WHERE id = $1", first)
        changed: UUID = await conn.fetchval(
            """SELECT id FROM channel_events WHERE entity_internal_id = $1
                 AND entity_type = 'booking' AND id <> $2""",
            first,
            created,
        )
        second, retrying = await _booking_event(conn, hotel, 1)
        await _set(conn, retrying, "status = 'processing', attempts = 1")
        third, settled = await _booking_event(conn, hotel, 2)
        await _set(conn, settled, "status = 'done'")

    found = await PostgresBatches(db).open_of_reservations([first, second, third], [created])

    assert set(found) == {changed, retrying}
