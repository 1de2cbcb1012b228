"""Runs honour an operator's decision on drift, decided through the real admin API (its own
process, as deployed) between reconciliations against the Beds24 sandbox and real Postgres:

- a look-alike linked: the reservation holds the Beds24 id with nothing sent to Beds24, and
  the next reconciliations match the booking by its id and find nothing;
- a look-alike said to differ: the next reconciliation imports the Beds24 booking (a
  reservation of its own) and sends the PMS's reservation, and never proposes them again;
- a difference dismissed is not shown again, until one side's values change.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from channel_sync.beds24.accounts import Beds24Clients
from channel_sync.beds24.credit_budget import CreditBudget
from channel_sync.events import EventMessage
from channel_sync.inbound import parse_beds24_time
from channel_sync.pms_origin import mark_beds24_origin
from channel_sync.repository import event_of
from channel_sync_testing.waiting import wait_for
from inbound_worker.beds24_bookings import Beds24Bookings
from inbound_worker.handler import InboundHandler
from inbound_worker.sync.runner import SyncRunner

from conftest import TEST_RETRY_DELAYS_MS

from .support import Hotel, NoBeds24, free_port, insert_hotel

TODAY = date.today()
DROP = {"drop": True}  # no webhook: only a run finds the booking
ADMIN_TOKEN = "decisions-admin-token-0123456789"
# Not proposals or differences about bookings: availability is compared apart (each run of
# a property whose PMS holds more than Beds24 sends it again until the worker has).
BOOKING_KINDS = ("possible_match", "booking_differs", "missing_in_pms", "missing_in_beds24")


def day(n: int) -> date:
    return TODAY + timedelta(days=n)


@pytest.fixture(scope="module")
async def admin_url(
    database_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """`admin-api` as deployed: its own process, configured by environment only."""
    port = free_port()
    log = tmp_path_factory.mktemp("admin") / "admin-api.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RABBITMQ_URL": amqp_url,
        "ADMIN_API_TOKEN": ADMIN_TOKEN,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        "RETRY_DELAYS_MS": ",".join(map(str, TEST_RETRY_DELAYS_MS)),
    }
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "admin_api.main", env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            await wait_for(
                lambda: _healthy(client, url, proc), timeout=30, what=f"admin-api ({log})"
            )
        yield url
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _healthy(client: httpx.AsyncClient, url: str, proc: asyncio.subprocess.Process) -> bool:
    if proc.returncode is not None:
        raise AssertionError(f"admin-api exited with {proc.returncode}")
    try:
        return (await client.get(f"{url}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


async def decide(admin_url: str, drift_id: UUID, **body: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(
        base_url=admin_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=15
    ) as client:
        response = await client.post(f"/admin/drift/{drift_id}/decision", json=body)
    assert response.status_code == 200, response.text
    decided: dict[str, Any] = response.json()
    return decided


@pytest.fixture
async def site(db: asyncpg.Pool, beds24_sandbox: SandboxHandle) -> tuple[Hotel, SandboxProperty]:
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


async def reconcile(db: asyncpg.Pool, runner: SyncRunner, hotel: Hotel) -> dict[str, int]:
    """One whole reconciliation of the property; its progress."""
    async with db.acquire() as conn:
        run_id = await conn.fetchval(
            "INSERT INTO sync_runs (property_id, kind) VALUES ($1, 'reconcile') RETURNING id",
            hotel.property_id,
        )
    await runner.round()
    async with db.acquire() as conn:
        run = await conn.fetchrow("SELECT status, progress FROM sync_runs WHERE id = $1", run_id)
    assert run["status"] == "done", run
    progress: dict[str, int] = run["progress"]
    return progress


async def front_desk(db: asyncpg.Pool, hotel: Hotel, **columns: Any) -> UUID:
    """A reservation the PMS held before it was connected (no event was captured then)."""
    values = {
        "property_id": hotel.property_id,
        "room_id": hotel.rooms["101"],
        "arrival": day(3),
        "departure": day(5),
        "adults": 2,
        "guest_last_name": "Hopper",
        **columns,
    }
    names = list(values)
    async with db.acquire() as conn, conn.transaction():
        await mark_beds24_origin(conn)
        reservation: UUID = await conn.fetchval(
            f"INSERT INTO reservations ({', '.join(names)}) VALUES "
            f"({', '.join(f'${i}' for i in range(1, len(names) + 1))}) RETURNING id",
            *values.values(),
        )
    return reservation


async def booking_events(db: asyncpg.Pool) -> list[asyncpg.Record]:
    async with db.acquire() as conn:
        return list(
            await conn.fetch(
                """SELECT * FROM channel_events WHERE entity_type = 'booking'
                   ORDER BY received_at, id"""
            )
        )


async def booking_drift(db: asyncpg.Pool) -> list[asyncpg.Record]:
    async with db.acquire() as conn:
        return list(
            await conn.fetch(
                "SELECT * FROM drift_records WHERE kind = ANY($1) ORDER BY found_at, id",
                list(BOOKING_KINDS),
            )
        )


async def everything(db: asyncpg.Pool) -> tuple[list[Any], list[Any], list[Any]]:
    async with db.acquire() as conn:
        events = await conn.fetch("SELECT id, status FROM channel_events ORDER BY id")
        drift = await conn.fetch(
            "SELECT id, status, last_seen_at IS NOT NULL FROM drift_records ORDER BY id"
        )
        reservations = await conn.fetch("SELECT * FROM reservations ORDER BY id")
    return [tuple(r) for r in events], [tuple(r) for r in drift], [dict(r) for r in reservations]


async def proposed(
    db: asyncpg.Pool,
    runner: SyncRunner,
    site: tuple[Hotel, SandboxProperty],
    sandbox: SandboxHandle,
) -> tuple[dict[str, Any], UUID, UUID]:
    """A Beds24 booking and a PMS reservation of the same room type, dates and surname, no
    key linking them: a reconciliation proposes them to an operator, and copies neither."""
    hotel, beds24 = site
    made = await sandbox.guest_booking(
        beds24.room_ids[0], day(3), day(5), delivery=DROP, lastName="Hopper", numAdult=2
    )
    typed = await front_desk(db, hotel)

    progress = await reconcile(db, runner, hotel)

    [proposal] = await booking_drift(db)
    assert (proposal["kind"], proposal["subject"], proposal["status"]) == (
        "possible_match",
        f"booking {made['id']}",
        "open",
    )
    assert proposal["pms_value"] == {"reservation_ids": [str(typed)]}
    assert await booking_events(db) == []  # neither imported nor sent
    assert progress.get("drift_open") == 1
    return made, typed, proposal["id"]


async def test_a_linked_look_alike_is_matched_by_its_id_and_nothing_is_found_again(
    db: asyncpg.Pool,
    runner: SyncRunner,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
    admin_url: str,
) -> None:
    hotel, _ = site
    made, typed, drift_id = await proposed(db, runner, site, beds24_sandbox)

    decided = await decide(admin_url, drift_id, decision="link", reservation_id=str(typed))

    assert decided["status"] == "decided"
    async with db.acquire() as conn:
        linked = await conn.fetchrow("SELECT * FROM reservations WHERE id = $1", typed)
    assert (linked["beds24_booking_id"], linked["made_by"]) == (made["id"], "beds24")
    assert await booking_events(db) == []  # the link is not echoed to Beds24

    after = await reconcile(db, runner, hotel)

    assert await booking_events(db) == []  # matched by its id: nothing to import or send
    assert [(d["kind"], d["status"]) for d in await booking_drift(db)] == [
        ("possible_match", "decided")
    ]
    assert not {"drift_found", "drift_open", "inbound_events", "outbound_events"} & set(after)
    settled = await everything(db)

    again = await reconcile(db, runner, hotel)

    assert await everything(db) == settled  # idempotent: nothing new, anywhere
    assert not {"drift_found", "drift_open", "inbound_events", "outbound_events"} & set(again)


async def test_a_look_alike_said_to_differ_is_imported_and_sent_and_never_proposed_again(
    db: asyncpg.Pool,
    runner: SyncRunner,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
    admin_url: str,
) -> None:
    hotel, _ = site
    made, typed, drift_id = await proposed(db, runner, site, beds24_sandbox)

    await decide(admin_url, drift_id, decision="differ", note="two guests named Hopper")
    progress = await reconcile(db, runner, hotel)

    events = await booking_events(db)
    assert sorted((e["direction"], e["event_type"]) for e in events) == [
        ("inbound", "beds24.booking.created"),  # Beds24's booking, imported as its own stay
        ("outbound", "pms.booking.create"),  # the PMS's, sent to Beds24 as a new booking
    ]
    [imported] = [e for e in events if e["direction"] == "inbound"]
    [sent] = [e for e in events if e["direction"] == "outbound"]
    assert imported["entity_external_id"] == str(made["id"])
    assert sent["entity_internal_id"] == typed
    repaired = sorted((d["kind"], d["status"], d["event_id"]) for d in await booking_drift(db))
    assert repaired == [  # not proposed again: each side repaired as its own stay
        ("missing_in_beds24", "repaired", sent["id"]),
        ("missing_in_pms", "repaired", imported["id"]),
        ("possible_match", "decided", None),
    ]
    assert (progress.get("inbound_events"), progress.get("outbound_events")) == (1, 1)

    # The inbound worker applies the import: a reservation of its own, beside the PMS's.
    await InboundHandler(db, NoBeds24())(EventMessage.for_event(event_of(imported)))
    async with db.acquire() as conn:
        held = await conn.fetchrow(
            "SELECT id, made_by FROM reservations WHERE beds24_booking_id = $1", made["id"]
        )
        typed_now = await conn.fetchval(
            "SELECT beds24_booking_id FROM reservations WHERE id = $1", typed
        )
    assert held is not None and held["id"] != typed and held["made_by"] == "beds24"
    assert typed_now is None  # its create is on its way to Beds24

    for _ in range(2):  # and from then on, nothing new about either booking
        before = [e["id"] for e in await booking_events(db)]
        drift_before = [(d["id"], d["status"]) for d in await booking_drift(db)]
        progress = await reconcile(db, runner, hotel)
        assert [e["id"] for e in await booking_events(db)] == before
        assert [(d["id"], d["status"]) for d in await booking_drift(db)] == drift_before
        assert not {"inbound_events", "outbound_events", "drift_open"} & set(progress)


async def test_a_dismissed_difference_is_not_shown_again_until_a_side_changes(
    db: asyncpg.Pool,
    runner: SyncRunner,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
    admin_url: str,
) -> None:
    hotel, beds24 = site
    made = await beds24_sandbox.guest_booking(
        beds24.room_ids[0], day(3), day(5), delivery=DROP, lastName="Hopper", numAdult=2
    )
    held = await front_desk(  # holds Beds24's version, but a night longer: nobody decides
        db,
        hotel,
        departure=day(6),
        beds24_booking_id=made["id"],
        beds24_modified_time=parse_beds24_time(made["modifiedTime"]),
        made_by="beds24",
    )
    async with db.acquire() as conn:
        await conn.execute(
            "UPDATE beds24_properties SET sync_policy = 'flag' WHERE property_id = $1",
            hotel.property_id,
        )
    await reconcile(db, runner, hotel)
    [found] = await booking_drift(db)
    assert (found["kind"], found["status"]) == ("booking_differs", "open")

    await decide(admin_url, found["id"], decision="dismiss")
    progress = await reconcile(db, runner, hotel)

    assert [(d["kind"], d["status"]) for d in await booking_drift(db)] == [
        ("booking_differs", "decided")
    ]
    assert progress.get("drift_dismissed") == 1 and "drift_open" not in progress
    assert await booking_events(db) == []  # both sides kept

    async with db.acquire() as conn, conn.transaction():  # the desk changes it once more
        await mark_beds24_origin(conn)
        await conn.execute("UPDATE reservations SET departure = $2 WHERE id = $1", held, day(7))
    await reconcile(db, runner, hotel)

    shown = [(d["status"], d["pms_value"]) for d in await booking_drift(db)]
    assert shown == [
        ("decided", {"departure": day(6).isoformat()}),
        ("open", {"departure": day(7).isoformat()}),  # a new difference: shown again
    ]
