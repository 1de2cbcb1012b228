"""The whole inbound path: the Beds24 sandbox sends real webhooks to the real gateway (its
console script, in a subprocess), the worker (in this process) applies them to the PMS.
Also the outages: RabbitMQ unreachable for the gateway, a webhook lost, Beds24 failing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from beds24_sandbox.handle import SandboxHandle
from channel_sync_testing.waiting import wait_for

from .support import (
    Connected,
    Gateway,
    InboundPath,
    free_port,
    gateway_process,
    outbound_count,
    reservation_of,
)

# test_own_bookings_path imports the path's parts from here.
ARRIVAL, DEPARTURE = "2031-07-01", "2031-07-04"


@pytest.fixture(scope="session")
async def gateway(
    database_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Gateway]:
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    async with gateway_process(database_url, amqp_url, log) as running:
        yield running


@pytest.fixture
def path(
    database_url: str,
    amqp_url: str,
    db: asyncpg.Pool,
    gateway: Gateway,
    beds24_sandbox: SandboxHandle,
) -> InboundPath:
    return InboundPath(db, beds24_sandbox, gateway.url, database_url, amqp_url)


async def test_guest_bookings_reach_the_pms_modified_and_cancelled(
    path: InboundPath, db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    site = await path.connect()
    outbound_before = await outbound_count(db)
    async with path.worker():
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
        created = await path.reservation(booking_id)
        assert created["guest_last_name"] == "Lovelace" and created["room_id"] is not None

        await beds24_sandbox.modify_guest_booking(booking_id, numAdult=3)
        await path.reservation(booking_id, "modification", adults=3)
        await beds24_sandbox.cancel_guest_booking(booking_id)
        cancelled = await path.reservation(booking_id, "cancellation", status="cancelled")
        await path.all_done(booking_id, 3)

    deliveries = await wait_for(
        lambda: _logged(beds24_sandbox, booking_id, 5), what="five deliveries logged"
    )
    assert len(deliveries) == 5 and {d["status_code"] for d in deliveries} == {200}
    events = await path.events(booking_id)
    assert [e["event_type"] for e in events] == [
        "beds24.booking.created",
        "beds24.booking.modified",
        "beds24.booking.cancelled",
    ]
    assert all(e["entity_internal_id"] == cancelled["id"] for e in events[1:])
    assert await outbound_count(db) == outbound_before  # no echo back to Beds24


async def test_an_older_webhook_arriving_after_a_newer_one_keeps_the_newer(
    path: InboundPath, beds24_sandbox: SandboxHandle
) -> None:
    site = await path.connect()
    async with path.worker():
        # The first version's webhook is late; the modification's overtakes it.
        original = await beds24_sandbox.guest_booking(
            site.room_id, ARRIVAL, DEPARTURE, numAdult=1, delivery={"delay_s": 1.5}
        )
        booking_id = original["id"]
        await beds24_sandbox.modify_guest_booking(booking_id, numAdult=4)
        await path.reservation(booking_id, "the modification", adults=4)
        await path.all_done(booking_id, 2, "the late webhook handled")
        # Beds24 repeating the first version once more is a duplicate: no third event.
        await beds24_sandbox.replay_webhook(booking_id, snapshot=original)
        await wait_for(lambda: _delivered(beds24_sandbox, booking_id, 3), what="the replay")

    assert (await reservation_of(path.db, booking_id))["adults"] == 4
    newer, late = await path.events(booking_id)
    assert newer["outcome_note"] == "created"
    assert late["outcome_note"].startswith("stale: version")


# Beds24 stamps whole seconds: the sandbox, frozen, gives two versions one modifiedTime.
SAME_SECOND = "2031-01-01T12:00:00Z"


async def test_a_cancellation_saved_in_the_same_second_as_a_change_is_applied(
    path: InboundPath, beds24_sandbox: SandboxHandle
) -> None:
    site = await path.connect()
    async with path.worker():
        booking_id = await _booked(path, site, numAdult=1)
        await beds24_sandbox.configure(frozen_modified_time=SAME_SECOND)
        changed = await beds24_sandbox.modify_guest_booking(booking_id, numAdult=4)
        await path.reservation(booking_id, "the change", adults=4)
        cancelled = await beds24_sandbox.cancel_guest_booking(booking_id)
        assert changed["modifiedTime"] == cancelled["modifiedTime"]
        await path.reservation(booking_id, "the cancellation", status="cancelled")
        await path.all_done(booking_id, 3)

    *_, last = await path.events(booking_id)
    assert last["outcome_note"].startswith("cancelled (Beds24's current state")
    fetches = await beds24_sandbox.calls(method="GET", path="/bookings")
    [fetch] = fetches  # the one booking asked for, once
    assert f"id={booking_id}" in fetch["query"]


async def test_an_earlier_version_of_the_same_second_arriving_last_changes_nothing(
    path: InboundPath, beds24_sandbox: SandboxHandle
) -> None:
    site = await path.connect()
    async with path.worker():
        booking_id = await _booked(path, site, numAdult=1)
        await beds24_sandbox.configure(frozen_modified_time=SAME_SECOND)
        # The change's webhook is late: the cancellation, saved the same second, overtakes it.
        await beds24_sandbox.modify_guest_booking(booking_id, numAdult=4, delivery={"delay_s": 1})
        await beds24_sandbox.cancel_guest_booking(booking_id)
        await path.all_done(booking_id, 3)

    row = await reservation_of(path.db, booking_id)
    assert (row["status"], row["adults"]) == ("cancelled", 4)  # Beds24's current state
    *_, late = await path.events(booking_id)
    assert late["payload"]["booking"]["status"] != "cancelled"
    assert late["outcome_note"].startswith("unchanged: version")
    assert len(await beds24_sandbox.calls(method="GET", path="/bookings")) == 1  # not guessed


async def _booked(
    path: InboundPath, site: Connected, what: str = "the reservation", **fields: Any
) -> int:
    """A guest booking made in Beds24 (its id), once its reservation is in the PMS."""
    made = await path.sandbox.guest_booking(site.room_id, ARRIVAL, DEPARTURE, **fields)
    booking_id: int = made["id"]
    await path.reservation(booking_id, what)
    return booking_id


async def _logged(sandbox: SandboxHandle, booking_id: int, count: int) -> list[dict[str, Any]]:
    """The sandbox's delivery log for a booking once it holds `count` attempts (an attempt is
    logged when its answer is read, a moment after the gateway commits the event)."""
    deliveries: list[dict[str, Any]] = await sandbox.webhooks(booking_id)
    return deliveries if len(deliveries) >= count else []


async def _delivered(sandbox: SandboxHandle, booking_id: int, count: int) -> bool:
    deliveries = await sandbox.webhooks(booking_id)
    return sum(d["status_code"] == 200 for d in deliveries) >= count


async def test_an_array_wrapped_webhook_is_applied(
    path: InboundPath, beds24_sandbox: SandboxHandle
) -> None:
    site = await path.connect()
    async with path.worker():
        booking_id = await _booked(path, site, delivery={"array_wrapped": True})
    [delivery] = await wait_for(lambda: _logged(beds24_sandbox, booking_id, 1), what="delivery")
    assert isinstance(delivery["body"], list)


async def test_broker_unreachable_for_the_gateway_then_the_relay_delivers(
    database_url: str,
    amqp_url: str,
    db: asyncpg.Pool,
    beds24_sandbox: SandboxHandle,
    tmp_path: Path,
) -> None:
    dead_broker = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    async with gateway_process(database_url, dead_broker, tmp_path / "gw.log") as cut_off:
        path = InboundPath(db, beds24_sandbox, cut_off.url, database_url, amqp_url)
        site = await path.connect()
        made = await beds24_sandbox.guest_booking(site.room_id, ARRIVAL, DEPARTURE)
        [stored] = await wait_for(lambda: path.events(made["id"]), what="stored event")
        [delivery] = await wait_for(
            lambda: _logged(beds24_sandbox, made["id"], 1), what="delivery logged"
        )
        assert delivery["status_code"] == 200  # accepted although it could not publish
        assert stored["status"] == "received"
        assert await reservation_of(db, made["id"]) is None

        # The broker is "back" for the worker, whose relay publishes what the gateway kept.
        async with path.worker():
            await path.reservation(made["id"])
            await path.all_done(made["id"], 1, "event done")


async def test_a_lost_webhook_is_brought_in_by_the_poll(
    path: InboundPath, beds24_sandbox: SandboxHandle
) -> None:
    site = await path.connect()
    async with path.worker(poll_enabled=True, poll_interval_s=0.5, poll_margin_s=120):
        delivered = await _booked(path, site, "delivered booking")
        lost = await beds24_sandbox.guest_booking(
            site.room_id, "2031-08-01", "2031-08-02", delivery={"drop": True}
        )
        found = await path.reservation(lost["id"], "polled booking")

    [dropped] = await wait_for(lambda: _logged(beds24_sandbox, lost["id"], 1), what="drop")
    assert dropped["error"] == "dropped on request"
    assert found["arrival"].isoformat() == "2031-08-01"
    [polled] = await path.events(lost["id"])
    assert polled["payload"]["source"] == "poll" and polled["status"] == "done"
    # The webhook-delivered booking was seen by the polls too, and not recorded twice.
    assert len(await path.events(delivered)) == 1
    polls = await beds24_sandbox.calls(method="GET", path="/bookings")
    assert polls and all(c["status"] == 200 for c in polls)


async def test_v1_pings_are_fetched_from_beds24_and_applied(
    path: InboundPath, beds24_sandbox: SandboxHandle
) -> None:
    site = await path.connect(version="one")
    async with path.worker():
        made = await beds24_sandbox.guest_booking(
            site.room_id, ARRIVAL, DEPARTURE, lastName="Babbage"
        )
        created = await path.reservation(made["id"])
        await beds24_sandbox.cancel_guest_booking(made["id"])
        await path.reservation(made["id"], "cancellation", status="cancelled")

    assert created["guest_last_name"] == "Babbage"
    pings = await wait_for(lambda: _logged(beds24_sandbox, made["id"], 2), what="two pings")
    assert [d["version"] for d in pings] == ["v1", "v1"]
    assert [e["payload"]["v1"]["status"] for e in await path.events(made["id"])] == [
        "new",
        "cancel",
    ]


async def test_beds24_failing_a_v1_fetch_is_retried_with_delays(
    path: InboundPath, beds24_sandbox: SandboxHandle
) -> None:
    site = await path.connect(version="one")
    await beds24_sandbox.inject_fault("http_500", count=2, method="GET", path="/bookings")
    async with path.worker():
        booking_id = await _booked(path, site)

    [event] = await path.events(booking_id)
    assert (event["status"], event["attempts"]) == ("done", 2)
    fetches = await beds24_sandbox.calls(method="GET", path="/bookings")
    assert [c["status"] for c in fetches] == [500, 500, 200]
