"""Inventory holds on real Postgres: a hold takes a unit off availability at once (and
records the availability change for Beds24), is refused when no unit is free, becomes a
reservation in the same transaction, and ends once: confirmed, released or expired."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from uuid import UUID

import asyncpg
import pytest
from channel_sync.holds import (
    HoldRefused,
    HoldTarget,
    confirm_hold,
    expire_due,
    place_hold,
    release_hold,
)
from channel_sync.pms_availability import free_units

BEDS24_ROOM = "7301"
ARRIVAL = date(2031, 3, 1)
DEPARTURE = ARRIVAL + timedelta(days=2)
NIGHTS = [ARRIVAL, ARRIVAL + timedelta(days=1)]


async def hotel(conn: asyncpg.Connection, rooms: int = 2) -> tuple[UUID, UUID, list[UUID]]:
    """A connected property: one room type of `rooms` rooms, sold as Beds24 room 7301."""
    prop: UUID = await conn.fetchval(
        "INSERT INTO hotel_settings (name) VALUES ('Hold Hotel') RETURNING id"
    )
    await conn.execute(
        """INSERT INTO beds24_properties (property_id, beds24_property_id, account_id,
               refresh_token) VALUES ($1, (random() * 1e9)::bigint, 'holds', 'rt')""",
        prop,
    )
    kind: UUID = await conn.fetchval(
        "INSERT INTO room_types (property_id, name) VALUES ($1, 'Double') RETURNING id", prop
    )
    await conn.execute(
        """INSERT INTO channel_mappings (property_id, mapping_type, internal_id, external_id)
           VALUES ($1, 'room_type', $2, $3)""",
        prop,
        kind,
        BEDS24_ROOM,
    )
    ids = [
        await conn.fetchval(
            "INSERT INTO rooms (property_id, room_type_id, name) VALUES ($1, $2, $3) RETURNING id",
            prop,
            kind,
            f"{n}",
        )
        for n in range(rooms)
    ]
    return prop, kind, ids


async def free(conn: asyncpg.Connection, prop: UUID) -> list[int]:
    found = await free_units(conn, prop, BEDS24_ROOM, NIGHTS)
    return [found[n] for n in NIGHTS]


async def hold(conn: asyncpg.Connection, prop: UUID, target: HoldTarget) -> UUID:
    async with conn.transaction():
        return await place_hold(
            conn,
            prop,
            target,
            arrival=ARRIVAL,
            departure=DEPARTURE,
            lasts=timedelta(minutes=10),
            reference="cart-1",
            placed_by="booking engine",
        )


async def availability_events(conn: asyncpg.Connection, source: UUID) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        """SELECT payload FROM channel_events WHERE event_type = 'pms.availability.update'
           AND entity_internal_id = $1 ORDER BY received_at, idempotency_key""",
        source,
    )
    return [(r["payload"]["from"], r["payload"]["to"]) for r in rows]


async def test_a_hold_takes_a_unit_at_once_and_gives_it_back_when_released(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn:
        prop, kind, _ = await hotel(conn)
        held = await hold(conn, prop, HoldTarget(room_type_id=kind))
        assert await free(conn, prop) == [1, 1]
        nights = (str(ARRIVAL), str(DEPARTURE - timedelta(days=1)))
        assert await availability_events(conn, held) == [nights]

        async with conn.transaction():
            assert await release_hold(conn, held) is True
        async with conn.transaction():
            assert await release_hold(conn, held) is False, "a hold ends once"
        assert await free(conn, prop) == [2, 2]
        assert await availability_events(conn, held) == [nights, nights]


async def test_a_hold_no_unit_is_free_for_is_refused_and_nothing_is_stored(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn:
        prop, kind, rooms = await hotel(conn, rooms=1)
        await conn.execute(
            """INSERT INTO reservations (property_id, room_id, arrival, departure, adults)
               VALUES ($1, $2, $3, $4, 2)""",
            prop,
            rooms[0],
            ARRIVAL + timedelta(days=1),
            ARRIVAL + timedelta(days=3),
        )
        with pytest.raises(HoldRefused, match=f"no unit left on {ARRIVAL + timedelta(days=1)}"):
            await hold(conn, prop, HoldTarget(room_type_id=kind))
        with pytest.raises(HoldRefused, match="room is taken"):
            await hold(conn, prop, HoldTarget(room_id=rooms[0]))
        assert await conn.fetchval("SELECT count(*) FROM inventory_holds") == 0


async def test_a_confirmed_hold_is_a_reservation_and_cannot_be_confirmed_twice(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn:
        prop, kind, rooms = await hotel(conn)
        held = await hold(conn, prop, HoldTarget(room_type_id=kind))
        async with conn.transaction():
            reservation = await confirm_hold(conn, held, guest_last_name="Held", adults=2)
        row = await conn.fetchrow("SELECT * FROM reservations WHERE id = $1", reservation)
        assert row["room_id"] in rooms and (row["arrival"], row["departure"]) == (
            ARRIVAL,
            DEPARTURE,
        )
        stored = await conn.fetchrow("SELECT * FROM inventory_holds WHERE id = $1", held)
        assert (stored["status"], stored["reservation_id"]) == ("confirmed", reservation)
        assert await free(conn, prop) == [1, 1], "the reservation now takes the unit"
        with pytest.raises(HoldRefused, match="confirmed, not held"):
            async with conn.transaction():
                await confirm_hold(conn, held)
        with pytest.raises(ValueError, match="beds24_booking_id"):
            async with conn.transaction():
                await confirm_hold(
                    conn, await hold(conn, prop, HoldTarget(kind)), beds24_booking_id=1
                )


async def test_expired_holds_are_reaped_once_and_never_confirmed(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        prop, kind, _ = await hotel(conn, rooms=3)
        due = [await hold(conn, prop, HoldTarget(room_type_id=kind)) for _ in range(3)]
        await conn.execute(  # their time is up
            "UPDATE inventory_holds SET expires_at = now() - interval '1 second'"
        )
        assert await free(conn, prop) == [3, 3], "a hold past its expiry no longer counts"
        with pytest.raises(HoldRefused, match="expired before it was confirmed"):
            async with conn.transaction():
                await confirm_hold(conn, due[0])

    async def reap() -> int:
        async with db.acquire() as c, c.transaction():
            return await expire_due(c, limit=2)

    counts = await asyncio.gather(reap(), reap(), reap())  # replicas at the same time
    assert sum(counts) == 3
    async with db.acquire() as conn:
        statuses = await conn.fetch(
            "SELECT status, ended_at FROM inventory_holds WHERE id = ANY($1::uuid[])", due
        )
        assert {r["status"] for r in statuses} == {"expired"}
        for held in due:
            assert len(await availability_events(conn, held)) == 2  # taken, then given back
