"""Bookings the PMS already holds are matched, not imported again: by the OTA's reservation
code with its channel (a channel booking typed into the PMS before it was connected), with
the owner recorded; a difference follows the policy with a drift record; two candidates are
never guessed between."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import pytest
from channel_sync.errors import PermanentError
from channel_sync.events import EventMessage
from channel_sync.pms_origin import mark_beds24_origin
from inbound_worker.handler import InboundHandler

from .support import Hotel, NoBeds24, booking, insert_hotel, reservations, store_event


async def _typed_in(
    db: asyncpg.Pool, hotel: Hotel, code: str, *, channel: str | None, adults: int = 2
) -> UUID:
    """The front desk typed the OTA booking into the PMS (before the hotel was connected)."""
    async with db.acquire() as conn, conn.transaction():
        await mark_beds24_origin(conn)  # no outbound event: the test is about the match
        reservation: UUID = await conn.fetchval(
            """INSERT INTO reservations (property_id, room_id, arrival, departure, status,
                   guest_first_name, guest_last_name, adults, children, channel,
                   channel_reference)
               VALUES ($1, $2, '2031-06-01', '2031-06-04', 'confirmed', 'Grace', 'Hopper',
                   $3, 1, $4, $5) RETURNING id""",
            hotel.property_id,
            hotel.rooms["101"],
            adults,
            channel,
            code,
        )
    return reservation


async def _apply(db: asyncpg.Pool, hotel: Hotel, raw: dict[str, Any]) -> None:
    event = await store_event(db, hotel.property_id, raw)
    await InboundHandler(db, NoBeds24())(EventMessage.for_event(event))


async def test_a_channel_booking_typed_into_the_pms_is_matched_by_its_code(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn)
    typed = await _typed_in(db, hotel, "BDC-998877", channel="Booking.com", adults=1)

    await _apply(db, hotel, booking(80001, apiReference="BDC-998877", channel="booking"))

    [row] = await reservations(db)  # matched, not doubled
    assert row["id"] == typed and row["beds24_booking_id"] == 80001
    assert row["made_by"] == "beds24" and row["adults"] == 2  # the channel owns it
    async with db.acquire() as conn:
        drift = await conn.fetchrow("SELECT * FROM drift_records")
    assert drift["kind"] == "match_differs" and drift["status"] == "repaired"
    assert drift["pms_value"] == {"adults": 1} and drift["beds24_value"] == {"adults": 2}


async def test_a_code_of_another_channel_or_an_already_linked_reservation_does_not_match(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn)
    await _typed_in(db, hotel, "X-1", channel="Expedia")
    await _apply(db, hotel, booking(80001, apiReference="X-1", channel="booking"))
    assert len(await reservations(db)) == 2  # another channel's code: a booking of its own


async def test_two_reservations_with_the_code_are_never_guessed_between(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn)
    await _typed_in(db, hotel, "BDC-1", channel=None)
    await _typed_in(db, hotel, "BDC-1", channel="booking")
    with pytest.raises(PermanentError, match="not guessed"):
        await _apply(db, hotel, booking(80001, apiReference="BDC-1", channel="booking"))
    rows = await reservations(db)
    assert len(rows) == 2 and all(r["beds24_booking_id"] is None for r in rows)


async def test_a_booking_the_pms_made_held_differently_at_connection_keeps_the_pms(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_hotel(conn)
    ours = await _typed_in(db, hotel, "", channel=None, adults=3)  # made by the PMS, never sent

    await _apply(db, hotel, booking(80002, apiReference=f"pms-{ours}", channel=None))

    [row] = await reservations(db)
    assert (row["id"], row["beds24_booking_id"], row["adults"]) == (ours, 80002, 3)
    async with db.acquire() as conn:
        drift = await conn.fetchrow("SELECT * FROM drift_records")
        sent = await conn.fetchval(
            """SELECT count(*) FROM channel_events WHERE direction = 'outbound'
                 AND entity_type = 'booking' AND entity_internal_id = $1""",
            ours,
        )
    assert (drift["kind"], drift["status"]) == ("match_differs", "repaired")
    assert "the PMS wins" in drift["resolution"] and sent == 1  # its state goes to Beds24
