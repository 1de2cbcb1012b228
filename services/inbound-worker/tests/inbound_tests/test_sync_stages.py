"""The reservations stage of a run against real Postgres: a PMS reservation linked to a
Beds24 booking the pages did not list is left open for an operator, unless the booking was
written or stamped after the run began reading (made during the sync)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import asyncpg
from channel_sync.pms_origin import mark_beds24_origin
from inbound_worker.sync.reservations_stage import compare_reservations
from inbound_worker.sync.runs import Run

from .support import insert_hotel

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
