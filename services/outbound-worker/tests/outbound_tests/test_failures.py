"""Beds24 failing: 5xx retried with delays, refusals failed with Beds24's reason, lost create
answers resolved by our reference, even across a killed worker."""

from __future__ import annotations

import asyncio
import signal
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection
from beds24_sandbox.handle import SandboxHandle
from channel_sync.amqp.topology import OUTBOUND
from channel_sync.beds24 import Beds24Client, ItemResult
from channel_sync.events import EventMessage
from channel_sync.pms_origin import mark_beds24_origin
from channel_sync.references import reference_info_item
from channel_sync_testing.waiting import wait_for

from .conftest import Connected, StartWorker
from .factories import insert_reservation
from .processes import start_process

D = date.today() + timedelta(days=40)


async def _event(db: asyncpg.Pool, reservation: UUID) -> asyncpg.Record:
    async with db.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT id, status, attempts, last_error FROM channel_events "
            "WHERE entity_internal_id = $1 AND entity_type = 'booking'",
            reservation,
        )
    assert row is not None
    return row


async def _settled(db: asyncpg.Pool, reservation: UUID) -> asyncpg.Record | None:
    row = await _event(db, reservation)
    return row if row["status"] in ("done", "failed") else None


async def _ours(sandbox: SandboxHandle, reservation: UUID) -> list[dict[str, Any]]:
    """The bookings carrying our reference, as apiReference or (where Beds24 drops that on
    API writes) as our info item."""
    item = reference_info_item(reservation)
    return [
        b
        for b in await sandbox.bookings()
        if b["apiReference"] == item["text"]
        or any(i["code"] == item["code"] and i["text"] == item["text"] for i in b["infoItems"])
    ]


async def test_two_server_errors_are_retried_then_done(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, connected: Connected, start_worker: StartWorker
) -> None:
    hotel, _ = connected
    await beds24_sandbox.inject_fault("http_500", count=2, method="POST", path="/bookings")
    await start_worker()
    async with db.acquire() as conn:
        res = await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=1))
    row = await wait_for(lambda: _settled(db, res), timeout=15, what="event settled")
    assert row["status"] == "done"
    assert row["attempts"] == 2 and "500" in row["last_error"]
    assert len(await _ours(beds24_sandbox, res)) == 1
    posts = await beds24_sandbox.calls(method="POST", path="/bookings")
    assert [c["status"] for c in posts] == [500, 500, 201]


async def test_item_refused_by_beds24_fails_with_its_reason(
    db: asyncpg.Pool,
    beds24_sandbox: SandboxHandle,
    connected: Connected,
    start_worker: StartWorker,
    amqp_connection: AbstractRobustConnection,
) -> None:
    hotel, _ = connected
    channel = await amqp_connection.channel()
    dlq = await channel.get_queue(OUTBOUND.dlq)
    await dlq.purge()
    await start_worker()
    async with db.acquire() as conn:
        res = await insert_reservation(
            conn, hotel, arrival=D, departure=D + timedelta(days=1), comments="x" * 1500
        )
    row = await wait_for(lambda: _settled(db, res), timeout=15, what="event settled")
    assert row["status"] == "failed" and row["attempts"] == 0
    assert "comments" in row["last_error"] and "1000" in row["last_error"]
    assert await _ours(beds24_sandbox, res) == []
    dead = await wait_for(lambda: dlq.get(fail=False, no_ack=True), what="DLQ message")
    assert EventMessage.model_validate_json(dead.body).event_id == row["id"]
    await channel.close()


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "lost_response"},  # created, then the connection drops mid-answer
        {"kind": "timeout", "apply": True, "delay_s": 3},  # created, answer too late
    ],
    ids=["lost_response", "timeout"],
)
@pytest.mark.parametrize("reference_kept", [True, False], ids=["apiReference", "infoItem"])
async def test_create_with_unknown_outcome_is_adopted_not_repeated(
    db: asyncpg.Pool,
    beds24_sandbox: SandboxHandle,
    connected: Connected,
    start_worker: StartWorker,
    fault: dict[str, object],
    reference_kept: bool,
) -> None:
    hotel, _ = connected
    await beds24_sandbox.configure(api_reference_writable=reference_kept)
    await beds24_sandbox.inject_fault(method="POST", path="/bookings", **fault)  # type: ignore[arg-type]
    await start_worker(beds24_timeout_s=1.0)
    async with db.acquire() as conn:
        res = await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=1))
    row = await wait_for(lambda: _settled(db, res), timeout=15, what="event settled")
    assert row["status"] == "done" and row["attempts"] == 1
    [booking] = await _ours(beds24_sandbox, res)
    assert (booking["apiReference"] == f"pms-{res}") is reference_kept
    async with db.acquire() as conn:
        assert (
            await conn.fetchval("SELECT beds24_booking_id FROM reservations WHERE id = $1", res)
            == booking["id"]
        )
        assert await conn.fetchval("SELECT count(*) FROM beds24_pending_creates") == 0
    # One search of the property's recently modified bookings, with info items, found it.
    [search] = await beds24_sandbox.calls(method="GET", path="/bookings")
    assert "modifiedFrom" in search["query"] and "includeInfoItems" in search["query"]


async def test_worker_killed_while_its_create_is_in_flight_leaves_one_booking(
    db: asyncpg.Pool,
    beds24_sandbox: SandboxHandle,
    connected: Connected,
    settings_env: dict[str, str],
    start_worker: StartWorker,
) -> None:
    hotel, _ = connected
    # Beds24 creates the booking, then holds the answer: the worker dies waiting for it.
    await beds24_sandbox.inject_fault(
        "timeout", method="POST", path="/bookings", apply=True, delay_s=20
    )
    worker, _ = await start_process(settings_env, beds24_sandbox, BEDS24_TIMEOUT_S="15")
    try:
        async with db.acquire() as conn:
            res = await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=1))
        await wait_for(lambda: _ours(beds24_sandbox, res), timeout=20, what="create applied")
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    await start_worker()
    row = await wait_for(lambda: _settled(db, res), timeout=20, what="event settled")
    assert row["status"] == "done"
    assert len(await beds24_sandbox.calls(method="GET", path="/bookings")) == 1  # the look-up
    [booking] = await _ours(beds24_sandbox, res)
    async with db.acquire() as conn:
        assert (
            await conn.fetchval("SELECT beds24_booking_id FROM reservations WHERE id = $1", res)
            == booking["id"]
        )


async def test_reservation_deleted_while_its_create_is_in_flight_is_cancelled_in_beds24(
    db: asyncpg.Pool,
    beds24_sandbox: SandboxHandle,
    connected: Connected,
    start_worker: StartWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hotel, _ = connected
    # Beds24 applies the create; its answer reaches the worker only once the test says so.
    answer = asyncio.Event()
    write = Beds24Client.write_bookings

    async def held(
        self: Beds24Client, items: list[dict[str, object]], **kw: object
    ) -> list[ItemResult]:
        results = await write(self, items, **kw)  # type: ignore[arg-type]
        await answer.wait()
        return results

    monkeypatch.setattr(Beds24Client, "write_bookings", held)
    await start_worker()
    async with db.acquire() as conn:
        res = await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=1))
    await wait_for(lambda: _ours(beds24_sandbox, res), timeout=15, what="create applied")
    async with db.acquire() as conn:
        await conn.execute("DELETE FROM reservations WHERE id = $1", res)
    answer.set()

    async def both_settled() -> list[asyncpg.Record] | None:
        async with db.acquire() as conn:
            rows = await conn.fetch(
                "SELECT event_type, status FROM channel_events "
                "WHERE entity_internal_id = $1 AND entity_type = 'booking'",
                res,
            )
        done = len(rows) == 2 and all(r["status"] in ("done", "failed") for r in rows)
        return rows if done else None

    rows = await wait_for(both_settled, timeout=20, what="create and cancel settled")
    assert {(r["event_type"], r["status"]) for r in rows} == {
        ("pms.booking.create", "done"),
        ("pms.booking.cancel", "done"),
    }
    [booking] = await _ours(beds24_sandbox, res)
    assert booking["status"] == "cancelled"  # no phantom stay left in Beds24
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM beds24_pending_creates") == 0


async def test_an_id_already_linked_fails_that_item_only_not_its_chunk(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, connected: Connected, start_worker: StartWorker
) -> None:
    hotel, prop = connected
    # The sandbox numbers bookings in sequence: the next create gets `taken`, which the PMS
    # already links to another reservation (as after a mistaken manual link).
    seen = await beds24_sandbox.guest_booking(prop.room_ids[0], D, D + timedelta(days=1))
    taken = seen["id"] + 1
    async with db.acquire() as conn, conn.transaction():
        await mark_beds24_origin(conn)
        holder = await insert_reservation(
            conn,
            hotel,
            arrival=D + timedelta(days=10),
            departure=D + timedelta(days=11),
            beds24_booking_id=taken,
        )
    await start_worker()
    async with db.acquire() as conn, conn.transaction():  # one batch, one POST
        first = await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=1))
        second = await insert_reservation(
            conn, hotel, arrival=D, departure=D + timedelta(days=1), room=1
        )
    rows = {
        res: await wait_for(lambda res=res: _settled(db, res), timeout=15, what="event settled")
        for res in (first, second)
    }
    [post] = await beds24_sandbox.calls(method="POST", path="/bookings")
    assert post["items"] == 2
    [clash] = [r for r in (first, second) if (await _ours(beds24_sandbox, r))[0]["id"] == taken]
    [other] = {first, second} - {clash}
    assert rows[clash]["status"] == "failed" and rows[clash]["attempts"] == 0
    reason = rows[clash]["last_error"]
    assert f"{taken} was made for reservation {clash}" in reason
    assert f"already linked to reservation {holder}" in reason
    assert rows[other]["status"] == "done" and rows[other]["attempts"] == 0
    [booking] = await _ours(beds24_sandbox, other)
    async with db.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT beds24_booking_id FROM reservations WHERE id = $1", other
        )
    assert stored == booking["id"]
