"""A batch of inbound events in one transaction, on real Postgres: the newest version of a
booking wins and the older one is recorded as superseded, a bad booking fails alone (its
batch-mates commit), and the availability the batch changes is one event per Beds24 room."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from channel_sync.errors import PermanentError
from channel_sync.events import EventMessage
from inbound_worker.batch import InboundBatch
from inbound_worker.handler import InboundHandler

from .support import (
    BEDS24_ROOM_ID,
    Hotel,
    NoBeds24,
    availability_events,
    booking,
    event_row,
    reservations,
    store_event,
)


def batch_of(db: asyncpg.Pool) -> InboundBatch:
    return InboundBatch(db, InboundHandler(db, NoBeds24()), push_skew=timedelta(seconds=2))


async def test_newest_version_of_a_booking_wins_and_the_older_is_superseded(
    db: asyncpg.Pool, hotel: Hotel
) -> None:
    newer = await store_event(
        db,
        hotel.property_id,
        booking(81001, departure="2031-06-06", modifiedTime="2031-05-02T09:00:00Z"),
    )
    older = await store_event(db, hotel.property_id, booking(81001))  # arrives second
    messages = [EventMessage.for_event(e) for e in (newer, older)]

    outcomes = await batch_of(db)(messages)

    assert outcomes == {newer.id: None, older.id: None}
    [r] = await reservations(db)
    assert str(r["departure"]) == "2031-06-06"
    superseded = await event_row(db, older.id)
    assert superseded["status"] == "done"
    assert (
        f"superseded by a newer version of the booking in the same batch ({newer.id})"
        == (superseded["outcome_note"])
    )
    assert (await event_row(db, newer.id))["status"] == "done"


async def test_a_bad_booking_fails_alone_and_its_batch_mates_commit(
    db: asyncpg.Pool, hotel: Hotel
) -> None:
    good = [await store_event(db, hotel.property_id, booking(82000 + n)) for n in range(3)]
    unreadable = await store_event(db, hotel.property_id, booking(82010, arrival="not a date"))
    refused = await store_event(db, hotel.property_id, booking(82011, lastName="Boom"))
    async with db.acquire() as conn:  # Postgres refuses one booking's row mid-batch
        await conn.execute("""
            CREATE FUNCTION test_refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.guest_last_name = 'Boom' THEN
                    RAISE EXCEPTION 'refused for the test';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_refuse_boom BEFORE INSERT ON reservations
                FOR EACH ROW EXECUTE FUNCTION test_refuse_boom();
        """)
    try:
        messages = [EventMessage.for_event(e) for e in (*good, unreadable, refused)]
        outcomes = await batch_of(db)(messages)
    finally:
        async with db.acquire() as conn:
            await conn.execute("""DROP TRIGGER test_refuse_boom ON reservations;
                                  DROP FUNCTION test_refuse_boom()""")

    assert [outcomes[e.id] for e in good] == [None, None, None]
    assert isinstance(outcomes[unreadable.id], PermanentError)
    assert isinstance(outcomes[refused.id], asyncpg.RaiseError)
    assert sorted(r["beds24_booking_id"] for r in await reservations(db)) == [82000, 82001, 82002]
    for event in good:
        assert (await event_row(db, event.id))["status"] == "done"
    for event in (unreadable, refused):  # the consumer's settler records their outcome
        assert (await event_row(db, event.id))["status"] != "done"


async def test_the_availability_a_batch_changes_is_one_event_per_room(
    db: asyncpg.Pool, hotel: Hotel
) -> None:
    before = await availability_events(db)  # the hotel's set-up: its rooms from today
    first = await store_event(db, hotel.property_id, booking(83001))
    later = await store_event(
        db,
        hotel.property_id,
        booking(83002, arrival="2031-07-01", departure="2031-07-03", lastName="Later"),
    )

    outcomes = await batch_of(db)([EventMessage.for_event(e) for e in (first, later)])

    assert outcomes == {first.id: None, later.id: None}
    assert len(await reservations(db)) == 2
    after = await availability_events(db)
    assert after[len(before) :] == [(str(BEDS24_ROOM_ID), "2031-06-01", "2031-07-02")]
    assert after[: len(before)] == before


async def test_a_settled_or_missing_event_is_acknowledged(db: asyncpg.Pool, hotel: Hotel) -> None:
    event = await store_event(db, hotel.property_id, booking(84001))
    batch = batch_of(db)
    assert await batch([EventMessage.for_event(event)]) == {event.id: None}
    again = await batch([EventMessage.for_event(event), EventMessage.for_event(event)])
    assert again == {event.id: None}
    assert len(await reservations(db)) == 1
