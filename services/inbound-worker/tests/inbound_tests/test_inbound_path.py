"""The whole inbound path: the Beds24 sandbox sends real webhooks to the real gateway (its
console script, in a subprocess), the worker (in this process) applies them to the PMS.
Also the outages: RabbitMQ unreachable for the gateway, a webhook lost, Beds24 failing."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from channel_sync.testing.waiting import wait_for
from inbound_worker.app import run
from inbound_worker.settings import InboundSettings

from conftest import TEST_RETRY_DELAYS_MS

from .support import Hotel, add_secret, insert_hotel, outbound_count

ARRIVAL, DEPARTURE = "2031-07-01", "2031-07-04"


@dataclass(frozen=True)
class Gateway:
    url: str


@asynccontextmanager
async def gateway_process(database_url: str, amqp_url: str, log: Path) -> AsyncIterator[Gateway]:
    """`webhook-gateway` as deployed: its own process, configured by environment only."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RABBITMQ_URL": amqp_url,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        "RETRY_DELAYS_MS": ",".join(map(str, TEST_RETRY_DELAYS_MS)),
        "AMQP_RECONNECT_INTERVAL_S": "60",
        "AMQP_PUBLISH_TIMEOUT_S": "2",
    }
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "webhook_gateway.main", env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            await wait_for(
                lambda: _healthy(client, url, proc), timeout=30, what=f"gateway health (log: {log})"
            )
        yield Gateway(url)
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
        raise AssertionError(f"gateway exited with {proc.returncode}")
    try:
        return (await client.get(f"{url}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="session")
async def gateway(
    database_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Gateway]:
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    async with gateway_process(database_url, amqp_url, log) as running:
        yield running


@asynccontextmanager
async def worker(
    database_url: str, amqp_url: str, beds24_url: str, **overrides: Any
) -> AsyncIterator[None]:
    values: dict[str, Any] = {
        "database_url": database_url,
        "rabbitmq_url": amqp_url,
        "beds24_api_url": beds24_url,
        "retry_delays_ms": TEST_RETRY_DELAYS_MS,
        "relay_poll_interval_s": 0.2,
        "poll_enabled": False,
        **overrides,
    }
    stop = asyncio.Event()
    task = asyncio.create_task(run(InboundSettings(**values), stop, serve_health=False))
    try:
        yield
        assert not task.done(), "the worker stopped by itself"
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@dataclass(frozen=True)
class Connected:
    hotel: Hotel
    beds24: SandboxProperty

    @property
    def room_id(self) -> int:
        return self.beds24.room_ids[0]


async def connect_hotel(
    db: asyncpg.Pool,
    sandbox: SandboxHandle,
    gateway_url: str,
    *,
    version: str = "twoWithPersonalData",
) -> Connected:
    """A Beds24 property and its PMS twin, its webhook pointed at the gateway."""
    beds24 = await sandbox.seed(rooms=[{"name": "Double", "qty": 2}])
    secret = f"e2e-{uuid.uuid4().hex}"
    async with db.acquire() as conn:
        hotel = await insert_hotel(
            conn,
            beds24_property_id=beds24.id,
            beds24_room_id=beds24.room_ids[0],
            account_id=str(beds24.account.account_id),
            refresh_token=beds24.account.refresh_token,
        )
        await add_secret(conn, hotel.property_id, secret)
    await sandbox.update_property(
        beds24.id,
        webhook={
            "urls": [f"{gateway_url}/webhooks/beds24/{hotel.property_id}"],
            "custom_header": f"Authorization: Bearer {secret}",
            "version": version,
        },
    )
    return Connected(hotel, beds24)


async def reservation_of(db: asyncpg.Pool, booking_id: int) -> asyncpg.Record | None:
    async with db.acquire() as conn:
        return await conn.fetchrow(
            "SELECT * FROM reservations WHERE beds24_booking_id = $1", booking_id
        )


async def inbound_events(db: asyncpg.Pool, booking_id: int) -> list[asyncpg.Record]:
    async with db.acquire() as conn:
        return list(
            await conn.fetch(
                """SELECT * FROM channel_events WHERE direction = 'inbound'
               AND entity_external_id = $1 ORDER BY received_at""",
                str(booking_id),
            )
        )


async def _all_done(db: asyncpg.Pool, booking_id: int, count: int) -> bool:
    events = await inbound_events(db, booking_id)
    return len(events) >= count and all(e["status"] == "done" for e in events)


async def test_guest_bookings_reach_the_pms_modified_and_cancelled(
    database_url: str,
    amqp_url: str,
    db: asyncpg.Pool,
    gateway: Gateway,
    beds24_sandbox: SandboxHandle,
) -> None:
    site = await connect_hotel(db, beds24_sandbox, gateway.url)
    outbound_before = await outbound_count(db)
    async with worker(database_url, amqp_url, beds24_sandbox.url):
        made = await beds24_sandbox.guest_booking(
            site.room_id,
            ARRIVAL,
            DEPARTURE,
            firstName="Ada",
            lastName="Lovelace",
            numAdult=2,
            delivery={"duplicates": 2},  # Beds24 repeats itself
        )
        booking_id = made["id"]
        created = await wait_for(lambda: reservation_of(db, booking_id), what="reservation")
        assert created["guest_last_name"] == "Lovelace" and created["room_id"] is not None

        await beds24_sandbox.modify_guest_booking(booking_id, numAdult=3)
        await wait_for(lambda: _adults(db, booking_id, 3), what="modification")
        await beds24_sandbox.cancel_guest_booking(booking_id)
        cancelled = await wait_for(
            lambda: _status(db, booking_id, "cancelled"), what="cancellation"
        )
        await wait_for(lambda: _all_done(db, booking_id, 3), what="every event done")

    deliveries = await beds24_sandbox.webhooks(booking_id)
    assert len(deliveries) == 5 and {d["status_code"] for d in deliveries} == {200}
    events = await inbound_events(db, booking_id)
    assert [e["event_type"] for e in events] == [
        "beds24.booking.created",
        "beds24.booking.modified",
        "beds24.booking.cancelled",
    ]
    assert all(e["entity_internal_id"] == cancelled["id"] for e in events[1:])
    assert await outbound_count(db) == outbound_before  # no echo back to Beds24


async def test_an_older_webhook_arriving_after_a_newer_one_keeps_the_newer(
    database_url: str,
    amqp_url: str,
    db: asyncpg.Pool,
    gateway: Gateway,
    beds24_sandbox: SandboxHandle,
) -> None:
    site = await connect_hotel(db, beds24_sandbox, gateway.url)
    async with worker(database_url, amqp_url, beds24_sandbox.url):
        # The first version's webhook is late; the modification's overtakes it.
        original = await beds24_sandbox.guest_booking(
            site.room_id, ARRIVAL, DEPARTURE, numAdult=1, delivery={"delay_s": 1.5}
        )
        booking_id = original["id"]
        await beds24_sandbox.modify_guest_booking(booking_id, numAdult=4)
        await wait_for(lambda: _adults(db, booking_id, 4), what="the modification")
        await wait_for(lambda: _all_done(db, booking_id, 2), what="the late webhook handled")
        # Beds24 repeating the first version once more is a duplicate: no third event.
        await beds24_sandbox.replay_webhook(booking_id, snapshot=original)
        await wait_for(lambda: _delivered(beds24_sandbox, booking_id, 3), what="the replay")

    assert (await reservation_of(db, booking_id))["adults"] == 4
    newer, late = await inbound_events(db, booking_id)
    assert newer["outcome_note"] == "created"
    assert late["outcome_note"].startswith("stale: version")


# Beds24 stamps whole seconds: the sandbox, frozen, gives two versions one modifiedTime.
SAME_SECOND = "2031-01-01T12:00:00Z"


async def test_a_cancellation_saved_in_the_same_second_as_a_change_is_applied(
    database_url: str,
    amqp_url: str,
    db: asyncpg.Pool,
    gateway: Gateway,
    beds24_sandbox: SandboxHandle,
) -> None:
    site = await connect_hotel(db, beds24_sandbox, gateway.url)
    async with worker(database_url, amqp_url, beds24_sandbox.url):
        made = await beds24_sandbox.guest_booking(site.room_id, ARRIVAL, DEPARTURE, numAdult=1)
        booking_id = made["id"]
        await wait_for(lambda: reservation_of(db, booking_id), what="the reservation")
        await beds24_sandbox.configure(frozen_modified_time=SAME_SECOND)
        changed = await beds24_sandbox.modify_guest_booking(booking_id, numAdult=4)
        await wait_for(lambda: _adults(db, booking_id, 4), what="the change")
        cancelled = await beds24_sandbox.cancel_guest_booking(booking_id)
        assert changed["modifiedTime"] == cancelled["modifiedTime"]
        await wait_for(lambda: _status(db, booking_id, "cancelled"), what="the cancellation")
        await wait_for(lambda: _all_done(db, booking_id, 3), what="every event done")

    *_, last = await inbound_events(db, booking_id)
    assert last["outcome_note"].startswith("cancelled (Beds24's current state")
    fetches = await beds24_sandbox.calls(method="GET", path="/bookings")
    [fetch] = fetches  # the one booking asked for, once
    assert f"id={booking_id}" in fetch["query"]


async def test_an_earlier_version_of_the_same_second_arriving_last_changes_nothing(
    database_url: str,
    amqp_url: str,
    db: asyncpg.Pool,
    gateway: Gateway,
    beds24_sandbox: SandboxHandle,
) -> None:
    site = await connect_hotel(db, beds24_sandbox, gateway.url)
    async with worker(database_url, amqp_url, beds24_sandbox.url):
        made = await beds24_sandbox.guest_booking(site.room_id, ARRIVAL, DEPARTURE, numAdult=1)
        booking_id = made["id"]
        await wait_for(lambda: reservation_of(db, booking_id), what="the reservation")
        await beds24_sandbox.configure(frozen_modified_time=SAME_SECOND)
        # The change's webhook is late: the cancellation, saved the same second, overtakes it.
        await beds24_sandbox.modify_guest_booking(booking_id, numAdult=4, delivery={"delay_s": 1})
        await beds24_sandbox.cancel_guest_booking(booking_id)
        await wait_for(lambda: _all_done(db, booking_id, 3), what="every event done")

    row = await reservation_of(db, booking_id)
    assert (row["status"], row["adults"]) == ("cancelled", 4)  # Beds24's current state
    *_, late = await inbound_events(db, booking_id)
    assert late["payload"]["booking"]["status"] != "cancelled"
    assert late["outcome_note"].startswith("unchanged: version")
    assert len(await beds24_sandbox.calls(method="GET", path="/bookings")) == 1  # not guessed


async def _delivered(sandbox: SandboxHandle, booking_id: int, count: int) -> bool:
    deliveries = await sandbox.webhooks(booking_id)
    return sum(d["status_code"] == 200 for d in deliveries) >= count


async def test_an_array_wrapped_webhook_is_applied(
    database_url: str,
    amqp_url: str,
    db: asyncpg.Pool,
    gateway: Gateway,
    beds24_sandbox: SandboxHandle,
) -> None:
    site = await connect_hotel(db, beds24_sandbox, gateway.url)
    async with worker(database_url, amqp_url, beds24_sandbox.url):
        made = await beds24_sandbox.guest_booking(
            site.room_id, ARRIVAL, DEPARTURE, delivery={"array_wrapped": True}
        )
        await wait_for(lambda: reservation_of(db, made["id"]), what="reservation")
    [delivery] = await beds24_sandbox.webhooks(made["id"])
    assert isinstance(delivery["body"], list)


async def test_broker_unreachable_for_the_gateway_then_the_relay_delivers(
    database_url: str,
    amqp_url: str,
    db: asyncpg.Pool,
    beds24_sandbox: SandboxHandle,
    tmp_path: Path,
) -> None:
    dead_broker = f"amqp://guest:guest@127.0.0.1:{_free_port()}/"
    async with gateway_process(database_url, dead_broker, tmp_path / "gw.log") as cut_off:
        site = await connect_hotel(db, beds24_sandbox, cut_off.url)
        made = await beds24_sandbox.guest_booking(site.room_id, ARRIVAL, DEPARTURE)
        [stored] = await wait_for(lambda: inbound_events(db, made["id"]), what="stored event")
        [delivery] = await beds24_sandbox.webhooks(made["id"])
        assert delivery["status_code"] == 200  # accepted although it could not publish
        assert stored["status"] == "received"
        assert await reservation_of(db, made["id"]) is None

        # The broker is "back" for the worker, whose relay publishes what the gateway kept.
        async with worker(database_url, amqp_url, beds24_sandbox.url):
            await wait_for(lambda: reservation_of(db, made["id"]), what="reservation")
            await wait_for(lambda: _all_done(db, made["id"], 1), what="event done")


async def test_a_lost_webhook_is_brought_in_by_the_poll(
    database_url: str,
    amqp_url: str,
    db: asyncpg.Pool,
    gateway: Gateway,
    beds24_sandbox: SandboxHandle,
) -> None:
    site = await connect_hotel(db, beds24_sandbox, gateway.url)
    async with worker(
        database_url,
        amqp_url,
        beds24_sandbox.url,
        poll_enabled=True,
        poll_interval_s=0.5,
        poll_margin_s=120,
    ):
        delivered = await beds24_sandbox.guest_booking(site.room_id, ARRIVAL, DEPARTURE)
        await wait_for(lambda: reservation_of(db, delivered["id"]), what="delivered booking")
        lost = await beds24_sandbox.guest_booking(
            site.room_id, "2031-08-01", "2031-08-02", delivery={"drop": True}
        )
        found = await wait_for(lambda: reservation_of(db, lost["id"]), what="polled booking")

    [dropped] = await beds24_sandbox.webhooks(lost["id"])
    assert dropped["error"] == "dropped on request"
    assert found["arrival"].isoformat() == "2031-08-01"
    [polled] = await inbound_events(db, lost["id"])
    assert polled["payload"]["source"] == "poll" and polled["status"] == "done"
    # The webhook-delivered booking was seen by the polls too, and not recorded twice.
    assert len(await inbound_events(db, delivered["id"])) == 1
    polls = await beds24_sandbox.calls(method="GET", path="/bookings")
    assert polls and all(c["status"] == 200 for c in polls)


async def test_v1_pings_are_fetched_from_beds24_and_applied(
    database_url: str,
    amqp_url: str,
    db: asyncpg.Pool,
    gateway: Gateway,
    beds24_sandbox: SandboxHandle,
) -> None:
    site = await connect_hotel(db, beds24_sandbox, gateway.url, version="one")
    async with worker(database_url, amqp_url, beds24_sandbox.url):
        made = await beds24_sandbox.guest_booking(
            site.room_id, ARRIVAL, DEPARTURE, lastName="Babbage"
        )
        created = await wait_for(lambda: reservation_of(db, made["id"]), what="reservation")
        await beds24_sandbox.cancel_guest_booking(made["id"])
        await wait_for(lambda: _status(db, made["id"], "cancelled"), what="cancellation")

    assert created["guest_last_name"] == "Babbage"
    assert [d["version"] for d in await beds24_sandbox.webhooks(made["id"])] == ["v1", "v1"]
    assert [e["payload"]["v1"]["status"] for e in await inbound_events(db, made["id"])] == [
        "new",
        "cancel",
    ]


async def test_beds24_failing_a_v1_fetch_is_retried_with_delays(
    database_url: str,
    amqp_url: str,
    db: asyncpg.Pool,
    gateway: Gateway,
    beds24_sandbox: SandboxHandle,
) -> None:
    site = await connect_hotel(db, beds24_sandbox, gateway.url, version="one")
    await beds24_sandbox.inject_fault("http_500", count=2, method="GET", path="/bookings")
    async with worker(database_url, amqp_url, beds24_sandbox.url):
        made = await beds24_sandbox.guest_booking(site.room_id, ARRIVAL, DEPARTURE)
        await wait_for(lambda: reservation_of(db, made["id"]), what="reservation")

    [event] = await inbound_events(db, made["id"])
    assert (event["status"], event["attempts"]) == ("done", 2)
    fetches = await beds24_sandbox.calls(method="GET", path="/bookings")
    assert [c["status"] for c in fetches] == [500, 500, 200]


async def _adults(db: asyncpg.Pool, booking_id: int, adults: int) -> bool:
    row = await reservation_of(db, booking_id)
    return row is not None and row["adults"] == adults


async def _status(db: asyncpg.Pool, booking_id: int, status: str) -> asyncpg.Record | None:
    row = await reservation_of(db, booking_id)
    return row if row is not None and row["status"] == status else None
