"""The sync runner against the Beds24 sandbox and real Postgres: an initial sync imports
every current and future booking (every status, every page) with the keys a webhook or a
poll gets, sends the PMS's own reservations and the availability, changes nothing when run
again, and resumes at the page where a failed step stopped, or where a killed worker
process left it."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from uuid import UUID

import asyncpg
import pytest
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from channel_sync.beds24.accounts import Beds24Clients
from channel_sync.beds24.credit_budget import CreditBudget
from channel_sync.inbound import booking_event_key
from channel_sync.pms_origin import mark_beds24_origin
from channel_sync_testing.waiting import wait_for
from inbound_worker.beds24_bookings import Beds24Bookings
from inbound_worker.sync.runner import SyncRunner

from .support import Hotel, free_port, insert_hotel, store_event

TODAY = date.today()


def day(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


@pytest.fixture
async def site(db: asyncpg.Pool, beds24_sandbox: SandboxHandle) -> tuple[Hotel, SandboxProperty]:
    """A Beds24 property without webhooks, pages of 2 bookings, and its PMS twin."""
    await beds24_sandbox.configure(page_size=2)
    beds24 = await beds24_sandbox.seed(rooms=[{"name": "Double", "qty": 3}])
    async with db.acquire() as conn:
        hotel = await insert_hotel(
            conn,
            rooms=("101", "102", "103"),
            beds24_property_id=beds24.id,
            beds24_room_id=beds24.room_ids[0],
            account_id=str(beds24.account.account_id),
            refresh_token=beds24.account.refresh_token,
        )
    return hotel, beds24


@pytest.fixture
async def runner(db: asyncpg.Pool, beds24_sandbox: SandboxHandle) -> AsyncIterator[SyncRunner]:
    budget = CreditBudget(db, reserve=5, max_wait_s=0)
    clients = Beds24Clients(beds24_sandbox.url, budget, timeout_s=5)
    yield SyncRunner(
        db,
        Beds24Bookings(db, clients, budget),
        every_s=1,
        reconcile_interval_s=0,
        horizon_days=30,
        settle_s=0,
        max_attempts=3,
    )
    await clients.aclose()


async def front_desk(db: asyncpg.Pool, hotel: Hotel, room: str, arrival: int, nights: int) -> UUID:
    """A reservation the PMS held before it was connected (so no event was captured)."""
    async with db.acquire() as conn, conn.transaction():
        await mark_beds24_origin(conn)
        reservation: UUID = await conn.fetchval(
            """INSERT INTO reservations (property_id, room_id, arrival, departure, adults,
                   guest_last_name) VALUES ($1, $2, $3, $4, 2, 'Front Desk') RETURNING id""",
            hotel.property_id,
            hotel.rooms[room],
            TODAY + timedelta(days=arrival),
            TODAY + timedelta(days=arrival + nights),
        )
    return reservation


async def request_run(db: asyncpg.Pool, hotel: Hotel, kind: str = "initial") -> UUID:
    async with db.acquire() as conn:
        run_id: UUID = await conn.fetchval(
            "INSERT INTO sync_runs (property_id, kind) VALUES ($1, $2) RETURNING id",
            hotel.property_id,
            kind,
        )
    return run_id


async def run_row(db: asyncpg.Pool, run_id: UUID) -> asyncpg.Record:
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM sync_runs WHERE id = $1", run_id)
    assert row is not None
    return row


async def events(db: asyncpg.Pool) -> list[asyncpg.Record]:
    async with db.acquire() as conn:
        return list(await conn.fetch("SELECT * FROM channel_events ORDER BY received_at, id"))


async def existing_bookings(
    sandbox: SandboxHandle, beds24: SandboxProperty
) -> list[dict[str, Any]]:
    """Five current or future stays (one cancelled) and one in the past; no webhooks."""
    room, drop = beds24.room_ids[0], {"drop": True}
    made = [
        await sandbox.guest_booking(room, day(0), day(2), delivery=drop),  # staying now
        await sandbox.guest_booking(room, day(3), day(5), delivery=drop),
        await sandbox.guest_booking(room, day(6), day(8), delivery=drop),
        await sandbox.guest_booking(room, day(9), day(12), delivery=drop),
        await sandbox.guest_booking(room, day(20), day(22), delivery=drop),
    ]
    made[3] = await sandbox.cancel_guest_booking(made[3]["id"], delivery=drop)
    await sandbox.guest_booking(room, day(-5), day(-2), delivery=drop)  # history: left out
    return made


async def test_an_initial_sync_imports_pushes_and_changes_nothing_when_run_again(
    db: asyncpg.Pool,
    runner: SyncRunner,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
) -> None:
    hotel, beds24 = site
    existing = await existing_bookings(beds24_sandbox, beds24)
    ours = [await front_desk(db, hotel, "102", 14, 3), await front_desk(db, hotel, "103", 1, 2)]
    run_id = await request_run(db, hotel)

    await runner.round()

    run = await run_row(db, run_id)
    assert (run["status"], run["stage"]) == ("done", "finished")
    assert run["progress"]["pages"] == 3  # 5 bookings, pages of 2
    assert run["progress"]["bookings_seen"] == 5
    recorded = await events(db)
    inbound = [e for e in recorded if e["direction"] == "inbound"]
    assert sorted(e["idempotency_key"] for e in inbound) == sorted(
        booking_event_key(hotel.property_id, b) for b in await _as_listed(beds24_sandbox, existing)
    )
    creates = [e for e in recorded if e["event_type"] == "pms.booking.create"]
    assert sorted(e["entity_internal_id"] for e in creates) == sorted(ours)
    [availability] = [
        e
        for e in recorded
        if e["event_type"] == "pms.availability.update"
        and e["correlation_id"] == f"sync-run:{run_id}"
    ]
    assert availability["payload"] == {
        "beds24_room_id": str(beds24.room_ids[0]),
        "from": TODAY.isoformat(),
        "to": None,
    }
    assert run["progress"]["inbound_events"] == 5

    # Once more, before anything was applied: every version is recorded already and the
    # creates are on their way, so no booking event is added. (Its availability comparison
    # sees the stays not yet applied; the end-to-end test runs it once all is settled.)
    again = await request_run(db, hotel)
    await runner.round()
    assert (await run_row(db, again))["status"] == "done"
    assert _booking_events(await events(db)) == _booking_events(recorded)


async def test_a_run_stopped_by_a_failed_step_resumes_at_its_page(
    db: asyncpg.Pool,
    runner: SyncRunner,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
) -> None:
    hotel, beds24 = site
    await existing_bookings(beds24_sandbox, beds24)
    run_id = await request_run(db, hotel)
    await beds24_sandbox.clear_calls()
    assert await runner.step(run_id) is True  # page 1, committed with its cursor
    # Page 2 fails (Beds24 down): nothing of that step commits; the run keeps its place.
    await beds24_sandbox.inject_fault("http_500", count=1, method="GET", path="/bookings")
    assert await runner.step(run_id) is False
    stopped = await run_row(db, run_id)
    assert (stopped["status"], stopped["cursor"]["page"]) == ("running", 2)
    assert "500" in stopped["last_error"]

    await runner.round()

    done = await run_row(db, run_id)
    assert (done["status"], done["last_error"]) == ("done", None)
    assert done["progress"]["bookings_seen"] == 5
    answered = [
        parse_qs(c["query"])["page"]
        for c in await beds24_sandbox.calls(method="GET", path="/bookings")
        if c["status"] == 200
    ]
    assert answered == [["1"], ["2"], ["3"]]  # no page read twice
    async with db.acquire() as conn:
        inbound = await conn.fetchval(
            "SELECT count(*) FROM channel_events WHERE direction = 'inbound'"
        )
    assert inbound == 5


def _booking_events(found: list[asyncpg.Record]) -> list[UUID]:
    return [e["id"] for e in found if e["entity_type"] == "booking"]


async def _as_listed(sandbox: SandboxHandle, made: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The bookings as GET /bookings lists them (info items and group included)."""
    return made


@asynccontextmanager
async def worker_process(
    database_url: str, amqp_url: str, beds24_url: str, log: Path, **env: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`inbound-worker` as deployed, in its own process; killed (SIGKILL) at the end if the
    test has not killed it already."""
    values = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RABBITMQ_URL": amqp_url,
        "BEDS24_API_URL": beds24_url,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(free_port()),
        "POLL_ENABLED": "false",
        "SYNC_EVERY_S": "0.2",
        "SYNC_SETTLE_S": "0",
        "RECONCILE_INTERVAL_S": "0",
        **env,
    }
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "inbound_worker.main", env=values, stdout=out, stderr=out
        )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_a_reconciliation_killed_mid_run_resumes_in_a_new_process(
    db: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    tmp_path: Path,
    beds24_sandbox: SandboxHandle,
) -> None:
    # Pages of one booking, and so few credits per (short) window that the first process
    # stops after a page or two, waiting for Beds24's reset: that is when it is killed.
    await beds24_sandbox.configure(page_size=1)
    beds24 = await beds24_sandbox.seed(
        rooms=[{"name": "Double", "qty": 3}], credit_limit=4.5, window_s=4
    )
    async with db.acquire() as conn:
        hotel = await insert_hotel(
            conn,
            rooms=("101", "102", "103"),
            beds24_property_id=beds24.id,
            beds24_room_id=beds24.room_ids[0],
            account_id=str(beds24.account.account_id),
            refresh_token=beds24.account.refresh_token,
        )
    made = await existing_bookings(beds24_sandbox, beds24)
    await beds24_sandbox.clear_calls()
    run_id = await request_run(db, hotel, "reconcile")
    log = tmp_path / "inbound-worker.log"

    async def stopped_for_credits() -> asyncpg.Record | None:
        run = await run_row(db, run_id)
        waiting = run["cursor"].get("page", 1) >= 2 and "credits" in (run["last_error"] or "")
        return run if waiting else None

    async with worker_process(
        database_url, amqp_url, beds24_sandbox.url, log, CREDIT_RESERVE="1"
    ) as first:
        killed_at = await wait_for(stopped_for_credits, timeout=30, what=f"a stop ({log})")
        first.kill()  # SIGKILL: no clean shutdown
        await first.wait()
    assert killed_at["status"] == "running"

    async with worker_process(database_url, amqp_url, beds24_sandbox.url, log):
        done = await wait_for(
            lambda: _done(db, run_id), timeout=45, what=f"the run resumed ({log})"
        )

    assert done["progress"]["bookings_seen"] == len(made)  # each page counted once
    answered = [
        parse_qs(c["query"])["page"][0]
        for c in await beds24_sandbox.calls(method="GET", path="/bookings")
        if c["status"] == 200
    ]
    assert sorted(answered) == [str(p) for p in range(1, len(made) + 1)]  # none read twice
    async with db.acquire() as conn:
        keys = await conn.fetch(
            "SELECT idempotency_key FROM channel_events WHERE direction = 'inbound'"
        )
    assert sorted(k["idempotency_key"] for k in keys) == sorted(
        booking_event_key(hotel.property_id, b) for b in made
    )


async def _done(db: asyncpg.Pool, run_id: UUID) -> asyncpg.Record | None:
    run = await run_row(db, run_id)
    return run if run["status"] == "done" else None


async def test_a_synced_property_is_reconciled_on_schedule(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, site: tuple[Hotel, SandboxProperty]
) -> None:
    hotel, _ = site
    never_synced = await _other_hotel(db)
    async with db.acquire() as conn:
        await conn.execute(
            """INSERT INTO sync_runs (property_id, kind, status, stage, requested_at)
               VALUES ($1, 'initial', 'done', 'finished', now() - interval '2 hours')""",
            hotel.property_id,
        )
    budget = CreditBudget(db, reserve=5, max_wait_s=0)
    clients = Beds24Clients(beds24_sandbox.url, budget, timeout_s=5)
    scheduled = SyncRunner(
        db,
        Beds24Bookings(db, clients, budget),
        every_s=1,
        reconcile_interval_s=3600,
        horizon_days=30,
        settle_s=0,
        max_attempts=3,
    )
    try:
        await scheduled.round()
        await scheduled.round()  # not due again
    finally:
        await clients.aclose()

    async with db.acquire() as conn:
        runs = await conn.fetch(
            "SELECT property_id, requested_by, status FROM sync_runs WHERE kind = 'reconcile'"
        )
    assert [tuple(r) for r in runs] == [(hotel.property_id, "schedule", "done")]
    assert never_synced != hotel.property_id


async def _other_hotel(db: asyncpg.Pool) -> UUID:
    """A connected property whose initial sync never ran: never reconciled on schedule."""
    async with db.acquire() as conn:
        other = await insert_hotel(conn, beds24_property_id=999_001, account_id="acct-other")
    return other.property_id


async def test_a_booking_applied_before_but_gone_from_the_pms_stays_open(
    db: asyncpg.Pool,
    runner: SyncRunner,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
) -> None:
    hotel, beds24 = site
    made = await beds24_sandbox.guest_booking(
        beds24.room_ids[0], day(3), day(5), delivery={"drop": True}
    )
    # Its version reached the PMS once (the event is done), but no reservation holds it now.
    event = await store_event(db, hotel.property_id, made)
    async with db.acquire() as conn:
        await conn.execute("UPDATE channel_events SET status = 'done' WHERE id = $1", event.id)
    run_id = await request_run(db, hotel, "reconcile")

    await runner.round()

    async with db.acquire() as conn:
        found = await conn.fetch("SELECT * FROM drift_records WHERE run_id = $1", run_id)
        inbound = await conn.fetchval(
            "SELECT count(*) FROM channel_events WHERE direction = 'inbound'"
        )
    bookings = [d for d in found if d["kind"] != "availability_differs"]  # its nights too
    assert [(d["kind"], d["subject"], d["status"]) for d in bookings] == [
        ("missing_in_pms", f"booking {made['id']}", "open")
    ]
    assert inbound == 1  # nothing recorded again: an operator decides
