"""PMS changes reach the Beds24 sandbox through the relay, RabbitMQ and the worker."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from beds24_sandbox.handle import SandboxHandle
from channel_sync.pms_origin import mark_beds24_origin
from channel_sync_testing.waiting import wait_for

from .conftest import Connected, StartWorker
from .factories import insert_hotel, insert_reservation

D = date.today() + timedelta(days=30)


async def _booking(sandbox: SandboxHandle, reservation: UUID, **expected: Any) -> dict[str, Any]:
    """Wait for the sandbox booking carrying our reference with the `expected` fields."""

    async def probe() -> dict[str, Any] | None:
        for booking in await sandbox.bookings():
            if booking.get("apiReference") == f"pms-{reservation}" and all(
                booking.get(k) == v for k, v in expected.items()
            ):
                return booking
        return None

    found: dict[str, Any] = await wait_for(probe, timeout=15, what=f"booking {expected}")
    return found


async def _event_states(db: asyncpg.Pool) -> list[tuple[str, str]]:
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT event_type, status FROM channel_events WHERE direction = 'outbound' "
            "ORDER BY received_at, event_type"
        )
    return [(r["event_type"], r["status"]) for r in rows]


async def _all_settled(db: asyncpg.Pool) -> bool:
    states = await _event_states(db)
    return bool(states) and all(s in ("done", "failed") for _, s in states)


async def test_reservation_created_updated_cancelled_follows_in_beds24(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, connected: Connected, start_worker: StartWorker
) -> None:
    hotel, prop = connected
    await start_worker()
    async with db.acquire() as conn:
        res = await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=2))
    booking = await _booking(
        beds24_sandbox,
        res,
        arrival=str(D),
        departure=str(D + timedelta(days=2)),
        roomId=prop.room_ids[0],
        firstName="Ada",
        lastName="Lovelace",
        numAdult=2,
        status="confirmed",
    )

    async def stored_id() -> int | None:
        async with db.acquire() as conn:
            value: int | None = await conn.fetchval(
                "SELECT beds24_booking_id FROM reservations WHERE id = $1", res
            )
        return value

    assert await wait_for(stored_id, what="Beds24 id stored") == booking["id"]
    async with db.acquire() as conn:
        await conn.execute(
            "UPDATE reservations SET departure = $2, guest_last_name = 'Byron', "
            "status = 'tentative' WHERE id = $1",
            res,
            D + timedelta(days=4),
        )
    await _booking(
        beds24_sandbox,
        res,
        id=booking["id"],
        departure=str(D + timedelta(days=4)),
        lastName="Byron",
        status="request",
    )
    async with db.acquire() as conn:
        await conn.execute("UPDATE reservations SET status = 'cancelled' WHERE id = $1", res)
    await _booking(beds24_sandbox, res, id=booking["id"], status="cancelled")
    await wait_for(lambda: _all_settled(db), what="events settled")
    states = await _event_states(db)
    assert {s for _, s in states} == {"done"}
    # Storing the Beds24 id produced no event of its own: create, update, cancel (+ nights).
    assert sorted(t for t, _ in states if t.startswith("pms.booking")) == [
        "pms.booking.cancel",
        "pms.booking.create",
        "pms.booking.update",
    ]
    (final,) = await beds24_sandbox.bookings()
    # Beds24 adds an info item sent without its id: our reference went on the create only.
    assert [i["code"] for i in final["infoItems"]] == ["PMSREF"]


async def test_plain_sql_insert_by_another_program_is_synced(
    db: asyncpg.Pool,
    database_url: str,
    beds24_sandbox: SandboxHandle,
    connected: Connected,
    start_worker: StartWorker,
) -> None:
    hotel, _ = connected
    await start_worker()
    sql = (
        "INSERT INTO reservations (id, property_id, room_id, arrival, departure, "
        "guest_last_name) VALUES ('7d1c7d0e-0000-4000-8000-000000000001', "
        f"'{hotel.property_id}', '{hotel.room_ids[1]}', '{D}', '{D + timedelta(days=1)}', "
        "'Psql')"
    )
    psql = await asyncio.create_subprocess_exec(
        "psql",
        database_url,
        "-v",
        "ON_ERROR_STOP=1",
        "-qc",
        sql,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await psql.communicate()
    assert psql.returncode == 0, stderr.decode()
    await _booking(
        beds24_sandbox,
        UUID("7d1c7d0e-0000-4000-8000-000000000001"),
        lastName="Psql",
        arrival=str(D),
    )


async def test_rolled_back_and_inbound_applied_changes_send_nothing(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, connected: Connected, start_worker: StartWorker
) -> None:
    hotel, _ = connected
    await start_worker()
    async with db.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=1))
                raise RuntimeError("the PMS gives up")
        async with conn.transaction():  # as the inbound worker applies a Beds24 booking
            await mark_beds24_origin(conn)
            echo = await insert_reservation(
                conn, hotel, arrival=D, departure=D + timedelta(days=1), beds24_booking_id=555
            )
            await conn.execute("UPDATE reservations SET adults = 1 WHERE id = $1", echo)
        # A normal change afterwards: once it is in Beds24, anything sent before would be too.
        sentinel = await insert_reservation(
            conn, hotel, arrival=D, departure=D + timedelta(days=1), guest_last_name="Sentinel"
        )
    await _booking(beds24_sandbox, sentinel, lastName="Sentinel")
    await wait_for(lambda: _all_settled(db), what="events settled")
    assert [b["lastName"] for b in await beds24_sandbox.bookings()] == ["Sentinel"]
    writes = await beds24_sandbox.calls(method="POST", path="/bookings")
    assert [c["items"] for c in writes] == [1]


async def test_a_successful_write_records_when_it_was_pushed_without_an_event(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, connected: Connected, start_worker: StartWorker
) -> None:
    hotel, _ = connected
    await start_worker()
    async with db.acquire() as conn:
        res = await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=1))
    await _booking(beds24_sandbox, res)
    await wait_for(lambda: _all_settled(db), what="create settled")

    async def pushed_at() -> datetime | None:
        async with db.acquire() as conn:
            value: datetime | None = await conn.fetchval(
                "SELECT beds24_pushed_at FROM reservations WHERE id = $1", res
            )
        return value

    created = await pushed_at()
    assert created is not None
    async with db.acquire() as conn:
        edited: datetime = await conn.fetchval(
            "UPDATE reservations SET guest_last_name = 'Byron' WHERE id = $1 "
            "RETURNING clock_timestamp()",
            res,
        )
    await _booking(beds24_sandbox, res, lastName="Byron")
    await wait_for(lambda: _all_settled(db), what="modify settled")
    modified = await pushed_at()
    assert modified is not None and created < edited < modified
    states = await _event_states(db)
    assert sorted(t for t, _ in states if t.startswith("pms.booking")) == [
        "pms.booking.create",
        "pms.booking.update",
    ]
    assert {s for _, s in states} == {"done"}


async def test_unmapped_room_fails_with_a_clear_reason(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, connected: Connected, start_worker: StartWorker
) -> None:
    hotel, _ = connected
    await start_worker()
    async with db.acquire() as conn:
        room = await conn.fetchval(
            "INSERT INTO rooms (property_id, name) VALUES ($1, 'unmapped') RETURNING id",
            hotel.property_id,
        )
        res = await conn.fetchval(
            "INSERT INTO reservations (property_id, room_id, arrival, departure) "
            "VALUES ($1, $2, $3, $4) RETURNING id",
            hotel.property_id,
            room,
            D,
            D + timedelta(days=1),
        )
    await wait_for(lambda: _all_settled(db), what="event settled")
    async with db.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT status, attempts, last_error FROM channel_events WHERE entity_internal_id = $1",
            res,
        )
    assert row["status"] == "failed" and row["attempts"] == 0
    assert "not mapped to a Beds24 room" in row["last_error"]
    assert await beds24_sandbox.bookings() == []


async def test_each_account_gets_its_own_calls_and_credentials(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, start_worker: StartWorker
) -> None:
    hotels = []
    for _ in range(2):
        prop = await beds24_sandbox.seed(rooms=[{"name": "Twin", "qty": 1}])
        async with db.acquire() as conn:
            hotel = await insert_hotel(
                conn,
                rooms=1,
                beds24_property_id=prop.id,
                beds24_room_id=str(prop.room_ids[0]),
                account_id=str(prop.account.account_id),
                refresh_token=prop.account.refresh_token,
            )
        hotels.append((hotel, prop))
    async with db.acquire() as conn, conn.transaction():  # one batch for both accounts
        reservations = [
            await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=1))
            for hotel, _ in hotels
        ]
    await start_worker()
    for res, (_, prop) in zip(reservations, hotels, strict=True):
        booking = await _booking(beds24_sandbox, res)
        assert booking["propertyId"] == prop.id
    posts = await beds24_sandbox.calls(method="POST", path="/bookings")
    assert sorted(c["account_id"] for c in posts) == sorted(p.account.account_id for _, p in hotels)
