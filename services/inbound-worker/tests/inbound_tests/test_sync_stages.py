"""Stages of a run against real Postgres: a PMS reservation linked to a Beds24 booking the
pages did not list is left open for an operator, unless the booking was written or stamped
after the run began reading (made during the sync); a look-alike is proposed, never linked
alone; a reservation carrying a listed OTA code is never sent as a new booking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from channel_sync.pms_origin import mark_beds24_origin
from inbound_worker.sync.bookings_stage import BookingsStage
from inbound_worker.sync.reservations_stage import compare_reservations
from inbound_worker.sync.runs import Run

from .support import booking, insert_hotel

TODAY = date.today()


async def _linked(conn: asyncpg.Connection, property_id: UUID, room: UUID, booking: int) -> None:
    await conn.execute(
        """INSERT INTO reservations (property_id, room_id, arrival, departure,
               beds24_booking_id, beds24_pushed_at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        property_id,
        room,
        TODAY + timedelta(days=5),
        TODAY + timedelta(days=7),
        booking,
        None if booking == 501 else datetime.now(UTC),  # 502: pushed during the run
    )


async def test_a_booking_made_during_the_run_is_not_reported_missing(db: asyncpg.Pool) -> None:
    read_from = datetime.now(UTC) - timedelta(seconds=30)
    async with db.acquire() as conn, conn.transaction():
        hotel = await insert_hotel(conn)
        await mark_beds24_origin(conn)
        await _linked(conn, hotel.property_id, hotel.rooms["101"], 501)  # linked long ago
        await _linked(conn, hotel.property_id, hotel.rooms["102"], 502)  # sent meanwhile
        run_id = await conn.fetchval(
            "INSERT INTO sync_runs (property_id, kind) VALUES ($1, 'reconcile') RETURNING id",
            hotel.property_id,
        )
        run = Run(
            run_id,
            hotel.property_id,
            "reconcile",
            "reservations",
            {"seen": [], "read_from": read_from.isoformat()},
        )
        await compare_reservations(conn, run, TODAY)
        subjects = [r["subject"] for r in await conn.fetch("SELECT subject FROM drift_records")]
    assert subjects == ["booking 501"]


async def _unlinked(conn: asyncpg.Connection, hotel: Any, **columns: Any) -> UUID:
    values = {
        "property_id": hotel.property_id,
        "room_id": hotel.rooms["101"],
        "arrival": date(2031, 6, 1),
        "departure": date(2031, 6, 4),
        "guest_last_name": "Hopper",
        **columns,
    }
    names = list(values)
    reservation: UUID = await conn.fetchval(
        f"INSERT INTO reservations ({', '.join(names)}) VALUES "
        f"({', '.join(f'${i}' for i in range(1, len(names) + 1))}) RETURNING id",
        *values.values(),
    )
    return reservation


async def _run(conn: asyncpg.Connection, property_id: UUID) -> Run:
    run_id = await conn.fetchval(
        "INSERT INTO sync_runs (property_id, kind) VALUES ($1, 'initial') RETURNING id",
        property_id,
    )
    return Run(run_id, property_id, "initial", "bookings", {})


async def test_a_look_alike_is_proposed_to_an_operator_and_neither_side_copied(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn, conn.transaction():
        hotel = await insert_hotel(conn)
        await mark_beds24_origin(conn)
        typed = await _unlinked(conn, hotel, guest_last_name="hopper ")
        run = await _run(conn, hotel.property_id)
        raw = booking(90001, apiReference="", channel="direct")
        await BookingsStage(max_attempts=3).compare_page(conn, run, "by_origin", [raw])
        drift = await conn.fetch("SELECT kind, status, pms_value FROM drift_records")
        imported = await conn.fetchval(
            "SELECT count(*) FROM channel_events WHERE direction = 'inbound'"
        )
    assert [(d["kind"], d["status"]) for d in drift] == [("possible_match", "open")]
    assert drift[0]["pms_value"] == {"reservation_ids": [str(typed)]}
    assert imported == 0 and str(typed) in run.cursor["claimed"]


async def test_a_reservation_carrying_a_listed_ota_code_is_never_sent_as_new(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn, conn.transaction():
        hotel = await insert_hotel(conn)
        await mark_beds24_origin(conn)
        typed = await _unlinked(conn, hotel, channel_reference="BDC-998877", arrival=TODAY)
        run = await _run(conn, hotel.property_id)
        await BookingsStage(max_attempts=3).compare_page(conn, run, "by_origin", [booking(90002)])
        await compare_reservations(conn, run, TODAY)
        outbound = await conn.fetchval(  # a booking sent to Beds24 (availability aside)
            "SELECT count(*) FROM channel_events WHERE direction = 'outbound' "
            "AND entity_type = 'booking'"
        )
        imported = await conn.fetchval(
            "SELECT count(*) FROM channel_events WHERE direction = 'inbound'"
        )
    assert str(typed) in run.cursor["claimed"]
    assert (imported, outbound) == (1, 0)  # imported, then matched by the inbound path


async def test_a_look_alike_carrying_the_bookings_ota_code_is_matched_by_the_code(
    db: asyncpg.Pool,
) -> None:
    """Same room type, dates and surname AND the OTA's code: the code decides (the inbound
    path links them); no proposal waits for an operator."""
    async with db.acquire() as conn, conn.transaction():
        hotel = await insert_hotel(conn)
        await mark_beds24_origin(conn)
        typed = await _unlinked(conn, hotel, channel="booking", channel_reference="BDC-4711")
        run = await _run(conn, hotel.property_id)
        raw = booking(90003, apiReference="BDC-4711")  # same dates and surname as `typed`
        await BookingsStage(max_attempts=3).compare_page(conn, run, "by_origin", [raw])
        drift = await conn.fetchval("SELECT count(*) FROM drift_records")
        imported = await conn.fetchval(
            "SELECT count(*) FROM channel_events WHERE direction = 'inbound'"
        )
    assert (drift, imported) == (0, 1)
    assert str(typed) in run.cursor["claimed"]


async def _compared(
    db: asyncpg.Pool, raw: dict[str, Any], **pms: Any
) -> tuple[list[asyncpg.Record], dict[str, int]]:
    """One page holding `raw`, against a PMS reservation linked to it (`pms` its columns);
    the drift recorded and the events each way."""
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn)
    async with db.acquire() as conn, conn.transaction():
        await mark_beds24_origin(conn)  # the PMS held it before: nothing to send for it
        qty_rooms = pms.pop("qty_rooms", 1)
        pms = {"adults": 2, "children": 1, **pms}  # as the Beds24 booking has them
        reservation = await _unlinked(conn, hotel, beds24_booking_id=raw["id"], **pms)
        for index in range(2, qty_rooms + 1):
            await _unlinked(
                conn,
                hotel,
                room_id=hotel.rooms["102"],
                beds24_qty_booking_id=raw["id"],
                beds24_qty_index=index,
            )
    async with db.acquire() as conn, conn.transaction():  # a run's step, as the runner's
        run = await _run(conn, hotel.property_id)
        run.kind = "reconcile"
        await BookingsStage(max_attempts=3).compare_page(conn, run, "by_origin", [raw])
        drift = list(await conn.fetch("SELECT * FROM drift_records ORDER BY kind"))
        events = dict(
            await conn.fetch(
                """SELECT direction, count(*) FROM channel_events WHERE entity_type = 'booking'
                   AND (direction = 'inbound' OR entity_internal_id = $1) GROUP BY direction""",
                reservation,
            )
        )
    return drift, events


async def test_a_direct_booking_held_differently_at_connection_is_left_to_an_operator(
    db: asyncpg.Pool,
) -> None:
    raw = booking(91001, apiReference="", channel="direct")
    drift, events = await _compared(db, raw, departure=date(2031, 6, 5), made_by="beds24")
    assert [(d["kind"], d["status"]) for d in drift] == [("booking_differs", "open")]
    assert drift[0]["pms_value"]["departure"] == "2031-06-05"  # both sides kept
    assert events == {}  # nothing overwritten either way


async def test_a_guest_name_the_pms_corrected_is_found_and_repaired_by_the_owner(
    db: asyncpg.Pool,
) -> None:
    raw = booking(91002, apiReference="", channel="direct")
    drift, events = await _compared(
        db,
        raw,
        guest_last_name="Hopper-Murray",
        made_by="pms",
        beds24_modified_time=datetime(2031, 5, 1, 9, 0, tzinfo=UTC),  # this very version
    )
    assert [(d["kind"], d["status"]) for d in drift] == [("booking_differs", "repaired")]
    assert drift[0]["pms_value"] == {"guest_last_name": "(differs)"}  # no guest data kept
    assert events == {"outbound": 1}  # the PMS made it: its name is sent


async def test_a_room_qty_lowered_in_beds24_is_found_by_a_reconcile(db: asyncpg.Pool) -> None:
    raw = booking(91003, roomQty=1)  # a channel's booking; the PMS still holds two rooms
    drift, events = await _compared(
        db,
        raw,
        qty_rooms=2,
        made_by="beds24",
        beds24_modified_time=datetime(2031, 5, 1, 9, 0, tzinfo=UTC),
    )
    assert [(d["kind"], d["status"]) for d in drift] == [("booking_differs", "repaired")]
    assert (drift[0]["beds24_value"]["rooms"], drift[0]["pms_value"]["rooms"]) == (1, 2)
    assert events == {"inbound": 1}  # Beds24 wins: its current state is applied
