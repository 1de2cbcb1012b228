"""The handler on real Postgres: one event → the PMS reservation, exactly once, latest
version wins, rooms placed or the booking flagged, never dropped."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest
from channel_sync.errors import PermanentError, RetryAfter
from channel_sync.events import EventMessage
from channel_sync.pms_origin import mark_beds24_origin
from inbound_worker.handler import InboundHandler
from prometheus_client import REGISTRY

from .support import (
    BEDS24_ROOM_ID,
    Hotel,
    NoBeds24,
    availability_events,
    booking,
    event_row,
    insert_hotel,
    map_unit,
    outbound_count,
    repo,
    reservations,
    store_event,
)


async def apply(handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel, raw: dict) -> str:  # type: ignore[type-arg]
    """Store `raw` as a webhook event, handle it; returns the event's outcome note."""
    event = await store_event(db, hotel.property_id, raw)
    await handler(EventMessage.for_event(event))
    row = await event_row(db, event.id)
    assert row["status"] == "done"
    note: str = row["outcome_note"]
    return note


async def test_new_booking_creates_the_reservation_with_every_mapped_field(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    before = await outbound_count(db)
    event = await store_event(db, hotel.property_id, booking(80001, status="new"))

    await handler(EventMessage.for_event(event))

    [r] = await reservations(db)
    assert r["property_id"] == hotel.property_id
    assert r["room_id"] in hotel.rooms.values()
    assert (r["arrival"], r["departure"]) == (date(2031, 6, 1), date(2031, 6, 4))
    assert r["status"] == "confirmed"
    assert (r["guest_title"], r["guest_first_name"], r["guest_last_name"]) == (
        "Ms",
        "Grace",
        "Hopper",
    )
    assert (r["guest_email"], r["guest_phone"], r["guest_mobile"]) == (
        "grace@example.com",
        "+1 555 0100",
        None,
    )
    assert (r["guest_address"], r["guest_city"], r["guest_postcode"], r["guest_country"]) == (
        "1 Navy Way",
        "Arlington",
        "22201",
        "US",
    )
    assert (r["adults"], r["children"]) == (2, 1)
    assert (r["price"], r["deposit"]) == (Decimal("420.50"), Decimal("100.00"))
    assert (r["comments"], r["notes"]) == ("Late arrival", "VIP")
    assert (r["channel"], r["channel_reference"]) == ("booking", "BDC-998877")
    assert r["beds24_booking_id"] == 80001
    assert r["beds24_modified_time"] == datetime(2031, 5, 1, 9, 0, tzinfo=UTC)
    assert r["needs_attention"] is False and r["attention_reason"] is None
    row = await event_row(db, event.id)
    assert (row["status"], row["outcome_note"]) == ("done", "created")
    assert row["entity_internal_id"] == r["id"]
    assert row["processed_at"] is not None
    # Applied from Beds24: no outbound event echoes it back.
    assert await outbound_count(db) == before


async def test_the_same_event_twice_applies_once(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    event = await store_event(db, hotel.property_id, booking(80002))
    await handler(EventMessage.for_event(event))
    [first] = await reservations(db)

    await handler(EventMessage.for_event(event))  # a redelivery

    [again] = await reservations(db)
    assert again["updated_at"] == first["updated_at"]
    assert (await event_row(db, event.id))["outcome_note"] == "created"


async def test_the_same_version_from_another_source_changes_nothing(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    assert await apply(handler, db, hotel, booking(80003)) == "created"
    # e.g. a V1 ping's fetch or a poll bringing the version already applied
    event = await store_event(db, hotel.property_id, booking(80003), key="other-source:80003")
    await handler(EventMessage.for_event(event))

    assert len(await reservations(db)) == 1
    assert (await event_row(db, event.id))["outcome_note"] == (
        "unchanged: version 2031-05-01 09:00:00+00:00 is already applied"
    )


async def test_the_same_version_without_personal_data_changes_nothing_and_asks_nothing(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    full = booking(80009)
    assert await apply(handler, db, hotel, full) == "created"
    # A twoNoPersonalData webhook of that version: another key, but nothing new (and the
    # handler's NoBeds24 fails the test if it asks Beds24).
    guestless = {k: v for k, v in full.items() if k not in ("firstName", "lastName", "email")}

    note = await apply(handler, db, hotel, guestless)

    assert note.startswith("unchanged: version")
    [r] = await reservations(db)
    assert r["guest_last_name"] == "Hopper"


async def test_an_older_version_after_a_newer_one_leaves_the_newer(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    newer = booking(80004, numAdult=3, modifiedTime="2031-05-02T10:00:00Z")
    older = booking(80004, numAdult=1, modifiedTime="2031-05-02T09:59:59")
    assert await apply(handler, db, hotel, newer) == "created"
    stale_before = _stale_count()

    note = await apply(handler, db, hotel, older)

    assert note.startswith("stale: version 2031-05-02 09:59:59+00:00 is older")
    assert _stale_count() == stale_before + 1
    [r] = await reservations(db)
    assert r["adults"] == 3
    assert r["beds24_modified_time"] == datetime(2031, 5, 2, 10, 0, tzinfo=UTC)


def _stale_count() -> float:
    labels = {"outcome": "stale", "needs_attention": "false"}
    return REGISTRY.get_sample_value("inbound_worker_bookings_total", labels) or 0.0


async def test_a_newer_version_updates_and_keeps_the_room(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    await apply(handler, db, hotel, booking(80005))
    [before] = await reservations(db)

    note = await apply(
        handler,
        db,
        hotel,
        booking(80005, departure="2031-06-06", price=500, modifiedTime="2031-05-03T08:00:00"),
    )

    [after] = await reservations(db)
    assert note == "updated"
    assert after["id"] == before["id"] and after["room_id"] == before["room_id"]
    assert (after["departure"], after["price"]) == (date(2031, 6, 6), Decimal("500.00"))


async def test_a_cancellation_cancels_and_frees_the_room(
    handler: InboundHandler, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, rooms=("201",))
    await apply(handler, db, hotel, booking(80006))

    note = await apply(
        handler, db, hotel, booking(80006, status="cancelled", modifiedTime="2031-05-04T08:00:00Z")
    )
    await apply(handler, db, hotel, booking(80007))

    assert note == "cancelled"
    cancelled, placed = await reservations(db)
    assert cancelled["status"] == "cancelled"
    assert placed["room_name"] == "201" and placed["needs_attention"] is False


async def test_a_cancellation_seen_first_is_kept_and_the_late_create_is_stale(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    cancel = booking(80008, status="cancelled", modifiedTime="2031-05-05T12:00:00Z")
    create = booking(80008, status="new", modifiedTime="2031-05-05T11:00:00Z")

    assert await apply(handler, db, hotel, cancel) == "recorded as cancelled"
    assert (await apply(handler, db, hotel, create)).startswith("stale")

    [r] = await reservations(db)
    assert r["status"] == "cancelled" and r["room_id"] is None


@pytest.mark.parametrize(
    ("beds24", "pms"),
    [
        ("new", "confirmed"),
        ("confirmed", "confirmed"),
        ("request", "tentative"),
        ("inquiry", "inquiry"),
        ("black", "blocked"),
        ("cancelled", "cancelled"),
    ],
)
async def test_status_mapping(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel, beds24: str, pms: str
) -> None:
    await apply(handler, db, hotel, booking(80010, status=beds24))
    [r] = await reservations(db)
    assert r["status"] == pms


async def test_an_unmapped_room_is_kept_without_a_room_and_flagged(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    note = await apply(handler, db, hotel, booking(80011, roomId=9999))

    [r] = await reservations(db)
    assert r["room_id"] is None and r["needs_attention"] is True
    assert r["attention_reason"] == "Beds24 room 9999 is not mapped to any PMS room"
    assert note == "created; needs attention: Beds24 room 9999 is not mapped to any PMS room"


async def test_no_free_room_is_kept_and_flagged_then_placed_when_one_frees_up(
    handler: InboundHandler, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, rooms=("301",))
    await apply(handler, db, hotel, booking(80012))
    note = await apply(handler, db, hotel, booking(80013, arrival="2031-06-03"))

    assert "needs attention: no free PMS room for Beds24 room 5001 from 2031-06-03" in note
    placed, unplaced = await reservations(db)
    assert placed["room_name"] == "301"
    assert unplaced["room_id"] is None and unplaced["needs_attention"] is True

    assert unplaced["beds24_room_id"] == "5001"  # it holds a unit of that Beds24 room

    # The first guest shortens the stay (in Beds24 before the second booked; the webhook
    # came late): the waiting booking is placed at once, without a version of its own.
    await apply(
        handler,
        db,
        hotel,
        booking(80012, departure="2031-06-03", modifiedTime="2031-05-06T00:00:00"),
    )
    _, now_placed = await reservations(db)
    assert now_placed["room_name"] == "301" and now_placed["needs_attention"] is False
    assert now_placed["attention_reason"] is None
    # Its next version changes nothing more.
    await apply(
        handler, db, hotel, booking(80013, arrival="2031-06-03", modifiedTime="2031-05-06T00:00:01")
    )
    _, still = await reservations(db)
    assert still["room_name"] == "301" and still["needs_attention"] is False


async def test_the_beds24_unit_picks_its_mapped_room(
    handler: InboundHandler, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, rooms=("401", "402", "403"))
        await map_unit(conn, hotel, "403", unit_id=3)
    await apply(handler, db, hotel, booking(80014, unitId=3))
    await apply(handler, db, hotel, booking(80015, unitId=0))

    unit3, anyroom = await reservations(db)
    assert unit3["room_name"] == "403"
    assert anyroom["room_name"] == "401"


async def test_dates_moving_onto_a_taken_room_move_the_reservation(
    handler: InboundHandler, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, rooms=("501", "502"))
    await apply(handler, db, hotel, booking(80016, arrival="2031-06-01", departure="2031-06-03"))
    await apply(handler, db, hotel, booking(80017, arrival="2031-06-05", departure="2031-06-08"))
    first, second = await reservations(db)
    assert first["room_name"] == second["room_name"] == "501"

    await apply(
        handler,
        db,
        hotel,
        booking(80016, departure="2031-06-06", modifiedTime="2031-05-07T00:00:00"),
    )

    first, second = await reservations(db)
    assert (first["room_name"], second["room_name"]) == ("502", "501")


async def test_a_booking_without_personal_data_keeps_the_guest(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    await apply(handler, db, hotel, booking(80018))
    personal = (
        "title",
        "firstName",
        "lastName",
        "email",
        "phone",
        "mobile",
        "address",
        "city",
        "postcode",
        "country",
        "country2",
        "comments",
        "notes",
    )
    bare = {
        k: v
        for k, v in booking(80018, numAdult=4, modifiedTime="2031-05-08T00:00:00").items()
        if k not in personal
    }

    await apply(handler, db, hotel, bare)

    [r] = await reservations(db)
    assert r["adults"] == 4
    assert (r["guest_last_name"], r["guest_email"], r["notes"]) == (
        "Hopper",
        "grace@example.com",
        "VIP",
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            booking(80020, propertyId=777),
            "Beds24 booking 80020 belongs to Beds24 property 777, but this PMS property is "
            "linked to 515151",
        ),
        (
            booking(80021, departure="2031-06-01"),
            "Beds24 booking 80021: departure 2031-06-01 is not after arrival 2031-06-01",
        ),
        (
            booking(80022, apiReference="R" * 101),
            "Beds24 booking 80022: apiReference is longer than 100 characters",
        ),
        (booking(80023, status="teleported"), "Beds24 booking 80023: unknown status 'teleported'"),
        (
            {k: v for k, v in booking(80024).items() if k != "arrival"},
            "Beds24 booking 80024: arrival is missing or not a date",
        ),
    ],
    ids=["other-beds24-property", "bad-dates", "long-reference", "bad-status", "no-arrival"],
)
async def test_bookings_the_pms_cannot_take_fail_permanently_with_a_reason(
    handler: InboundHandler,
    db: asyncpg.Pool,
    hotel: Hotel,
    raw: dict,
    reason: str,  # type: ignore[type-arg]
) -> None:
    event = await store_event(db, hotel.property_id, raw)
    with pytest.raises(PermanentError) as failure:
        await handler(EventMessage.for_event(event))
    assert str(failure.value) == reason
    assert await reservations(db) == []


async def test_a_payload_without_a_booking_fails_permanently(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    event = await store_event(
        db, hotel.property_id, payload={"something": "else"}, key="odd-payload"
    )
    with pytest.raises(PermanentError, match="holds no Beds24 booking"):
        await handler(EventMessage.for_event(event))


async def test_a_booking_held_by_another_pms_property_fails(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    async with db.acquire() as conn:
        other = await insert_hotel(conn, beds24_property_id=616161, account_id="acct-2")
    await apply(handler, db, other, booking(80025, propertyId=616161))
    event = await store_event(
        db, hotel.property_id, booking(80025, modifiedTime="2031-05-09T00:00:00")
    )

    with pytest.raises(PermanentError, match="already a reservation of another PMS property"):
        await handler(EventMessage.for_event(event))


async def test_missing_done_and_failed_events_are_skipped(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    failed = await store_event(db, hotel.property_id, booking(80026))
    async with db.acquire() as conn:
        await repo.mark_failed(conn, failed.id, "given up")
    await handler(EventMessage.for_event(failed))
    gone = await store_event(db, hotel.property_id, booking(80027))
    async with db.acquire() as conn:
        await conn.execute("DELETE FROM channel_events WHERE id = $1", gone.id)
    await handler(EventMessage.for_event(gone))

    assert await reservations(db) == []


async def test_versions_applied_concurrently_end_with_the_newest(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    versions = [
        booking(80030, numAdult=n, modifiedTime=f"2031-05-10T10:00:{n:02d}") for n in range(1, 9)
    ]
    random.Random(7).shuffle(versions)
    events = [await store_event(db, hotel.property_id, v) for v in versions]

    await asyncio.gather(*(handler(EventMessage.for_event(e)) for e in events))

    [r] = await reservations(db)
    assert r["adults"] == 8
    notes = [(await event_row(db, e.id))["outcome_note"] for e in events]
    assert sum(n == "created" for n in notes) == 1


async def test_overlapping_bookings_placed_concurrently_never_share_a_room(
    handler: InboundHandler, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, rooms=("601", "602"))
    events = [await store_event(db, hotel.property_id, booking(80040 + i)) for i in range(3)]

    await asyncio.gather(*(handler(EventMessage.for_event(e)) for e in events))

    rows = await reservations(db)
    placed = sorted(r["room_name"] for r in rows if r["room_id"] is not None)
    assert placed == ["601", "602"]
    assert sum(r["needs_attention"] for r in rows) == 1


async def test_a_newer_beds24_version_waits_for_pms_changes_not_yet_sent(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    await apply(handler, db, hotel, booking(80050))
    async with db.acquire() as conn:  # the front desk edits; the outbound event is pending
        await conn.execute(
            "UPDATE reservations SET notes = 'front desk' WHERE beds24_booking_id = 80050"
        )
        pending = await conn.fetchval(
            """SELECT id FROM channel_events WHERE direction = 'outbound'
               AND entity_type = 'booking' AND status = 'received'"""
        )
    assert pending is not None
    event = await store_event(
        db, hotel.property_id, booking(80050, numAdult=5, modifiedTime="2031-05-11T00:00:00")
    )

    with pytest.raises(RetryAfter, match="PMS changes not yet sent to Beds24"):
        await handler(EventMessage.for_event(event))
    [waiting] = await reservations(db)
    assert (waiting["notes"], waiting["adults"]) == ("front desk", 2)

    async with db.acquire() as conn:  # the outbound worker has sent it
        await repo.mark_done(conn, pending)
    await handler(EventMessage.for_event(event))
    [applied] = await reservations(db)
    assert applied["adults"] == 5


async def _front_desk_edit_sent(db: asyncpg.Pool, booking_id: int, pushed_at: str) -> None:
    """The front desk edits the reservation; the outbound worker sends it to Beds24 (its
    event done, `beds24_pushed_at` = when it sent the write, as a Beds24-origin write)."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE reservations SET notes = 'front desk' WHERE beds24_booking_id = $1",
            booking_id,
        )
        sent = await conn.fetchval(
            """SELECT id FROM channel_events WHERE direction = 'outbound'
               AND entity_type = 'booking' AND status = 'received'"""
        )
        await repo.mark_done(conn, sent)
        await mark_beds24_origin(conn)
        await conn.execute(
            """UPDATE reservations SET beds24_pushed_at = $2::text::timestamptz
               WHERE beds24_booking_id = $1""",
            booking_id,
            pushed_at,
        )


async def test_a_late_version_older_than_our_last_write_does_not_revert_the_pms(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    await apply(handler, db, hotel, booking(80060, modifiedTime="2031-05-12T10:00:00Z"))
    await _front_desk_edit_sent(db, 80060, "2031-05-12T10:05:00Z")
    before = await outbound_count(db)

    # A guest change saved in Beds24 before our write; its webhook comes a minute late.
    late = booking(80060, numAdult=4, notes="guest", modifiedTime="2031-05-12T10:04:00Z")
    note = await apply(handler, db, hotel, late)

    assert note == (
        "stale: version 2031-05-12 10:04:00+00:00 is older than the PMS's last write to "
        "Beds24 (sent 2031-05-12 10:05:00+00:00)"
    )
    [r] = await reservations(db)
    assert (r["notes"], r["adults"]) == ("front desk", 2)
    assert await outbound_count(db) == before


async def test_versions_from_the_skew_margin_on_after_our_write_are_applied(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    await apply(handler, db, hotel, booking(80061, modifiedTime="2031-05-12T10:00:00Z"))
    await _front_desk_edit_sent(db, 80061, "2031-05-12T10:05:00.700Z")

    # Stamped in whole seconds (by Beds24's clock): within the margin, not known older.
    within = booking(80061, numAdult=3, modifiedTime="2031-05-12T10:04:59Z")
    assert await apply(handler, db, hotel, within) == "updated"
    after = booking(80061, numAdult=4, modifiedTime="2031-05-12T10:06:00Z")
    assert await apply(handler, db, hotel, after) == "updated"
    [r] = await reservations(db)
    assert r["adults"] == 4


async def test_the_push_skew_margin_is_a_setting(db: asyncpg.Pool, hotel: Hotel) -> None:
    strict = InboundHandler(db, NoBeds24(), push_skew=timedelta(0))
    await apply(strict, db, hotel, booking(80062, modifiedTime="2031-05-12T10:00:00Z"))
    await _front_desk_edit_sent(db, 80062, "2031-05-12T10:05:00.700Z")

    within = booking(80062, numAdult=3, modifiedTime="2031-05-12T10:05:00Z")
    assert (await apply(strict, db, hotel, within)).startswith("stale: version")


async def test_a_beds24_cancellation_frees_its_nights_without_a_booking_echo(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    room, seen = str(BEDS24_ROOM_ID), len(await availability_events(db))  # the hotel's rooms
    await apply(handler, db, hotel, booking(80070, modifiedTime="2031-05-13T10:00:00Z"))
    assert (await availability_events(db))[seen:] == [(room, "2031-06-01", "2031-06-03")]

    cancel = booking(80070, status="cancelled", modifiedTime="2031-05-13T11:00:00Z")
    assert await apply(handler, db, hotel, cancel) == "cancelled"

    assert (await availability_events(db))[seen + 1 :] == [(room, "2031-06-01", "2031-06-03")]
    assert await outbound_count(db) == 0  # no booking event: nothing echoed to Beds24


async def test_a_shorter_stay_from_beds24_refreshes_its_nights_a_guest_edit_none(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    room, seen = str(BEDS24_ROOM_ID), len(await availability_events(db))  # the hotel's rooms
    await apply(handler, db, hotel, booking(80071, modifiedTime="2031-05-13T10:00:00Z"))
    shorter = booking(80071, departure="2031-06-02", modifiedTime="2031-05-13T11:00:00Z")
    assert await apply(handler, db, hotel, shorter) == "updated"
    renamed = booking(
        80071, departure="2031-06-02", lastName="Murray", modifiedTime="2031-05-13T12:00:00Z"
    )
    assert await apply(handler, db, hotel, renamed) == "updated"

    assert (await availability_events(db))[seen:] == [
        (room, "2031-06-01", "2031-06-03"),
        (room, "2031-06-01", "2031-06-03"),  # the nights before and after: 06-02, 06-03 freed
    ]
    assert await outbound_count(db) == 0


async def test_a_waiting_booking_cancelled_or_moved_pushes_the_nights_it_held(
    handler: InboundHandler, db: asyncpg.Pool
) -> None:
    """Waiting bookings count against their Beds24 room; the capture trigger sees only
    reservations with a room, so the handler queues those nights itself."""
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn, rooms=("501",))
    await apply(handler, db, hotel, booking(80021))  # 2031-06-01..04, takes room 501
    await apply(handler, db, hotel, booking(80022, arrival="2031-06-02"))  # waits
    before = await availability_events(db)

    await apply(
        handler,
        db,
        hotel,
        booking(
            80022, arrival="2031-06-02", status="cancelled", modifiedTime="2031-05-07T00:00:00"
        ),
    )

    added = (await availability_events(db))[len(before) :]
    assert (str(BEDS24_ROOM_ID), "2031-06-02", "2031-06-03") in added
