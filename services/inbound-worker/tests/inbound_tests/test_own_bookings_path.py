"""Our own create, whose answer Beds24 lost, comes back as a webhook (sandbox → gateway →
worker): it must land on the PMS reservation that made it, not become a second one.

The outbound worker's part is played by its Beds24 call (a real create through the client,
the sandbox dropping the answer) and by its bookkeeping (pending-create note, event status),
so this test depends on no other service's code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from uuid import UUID

import asyncpg
import pytest
from beds24_sandbox.handle import SandboxHandle
from channel_sync.beds24 import Beds24Client, Beds24Unavailable
from channel_sync_testing.waiting import wait_for
from inbound_worker import apply

from .support import (
    Gateway,
    connect_hotel,
    gateway_process,
    inbound_events,
    outbound_count,
    reservation_of,
    reservations,
    worker,
)
from .test_inbound_path import ARRIVAL, DEPARTURE
from .test_own_bookings import outbound_create_sent, pending_creates


@pytest.fixture(scope="module")
async def gateway(
    database_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Gateway]:
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    async with gateway_process(database_url, amqp_url, log) as running:
        yield running


async def test_our_create_with_a_lost_answer_then_its_webhook_is_one_reservation(
    database_url: str,
    amqp_url: str,
    db: asyncpg.Pool,
    gateway: Gateway,
    beds24_sandbox: SandboxHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(apply, "UNSENT_CHANGES_WAIT", timedelta(milliseconds=200))
    site = await connect_hotel(db, beds24_sandbox, gateway.url)
    async with db.acquire() as conn:  # the front desk books room 101
        reservation_id: UUID = await conn.fetchval(
            """INSERT INTO reservations (property_id, room_id, arrival, departure, status,
                   adults, guest_last_name)
               VALUES ($1, $2, $3, $4, 'confirmed', 2, 'Hamilton')
               RETURNING id""",
            site.hotel.property_id,
            site.hotel.rooms["101"],
            date.fromisoformat(ARRIVAL),
            date.fromisoformat(DEPARTURE),
        )
    # The outbound worker notes the create and sends it: Beds24 makes it, the answer is lost.
    create = await outbound_create_sent(db, reservation_id, settled=None)
    await beds24_sandbox.inject_fault("lost_response", method="POST", path="/bookings")
    reference = f"pms-{reservation_id}"
    async with Beds24Client(beds24_sandbox.url, site.beds24.account.refresh_token) as client:
        with pytest.raises(Beds24Unavailable):
            await client.write_bookings([_create_item(site.beds24.id, site.room_id, reference)])
    [made] = await beds24_sandbox.bookings(site.beds24.id)
    assert made["apiReference"] == reference
    outbound_before = await outbound_count(db)

    async with worker(database_url, amqp_url, beds24_sandbox.url):
        await beds24_sandbox.replay_webhook(made["id"])
        # While the outbound worker still works on its create, the webhook waits for it...
        await wait_for(lambda: _waiting(db, made["id"]), what="the webhook waiting")
        [waiting] = await reservations(db)
        assert (waiting["id"], waiting["beds24_booking_id"]) == (reservation_id, None)
        async with db.acquire() as conn:  # ...which gives up (say its lookups kept failing)
            await conn.execute("UPDATE channel_events SET status = 'failed' WHERE id = $1", create)
        adopted = await wait_for(lambda: reservation_of(db, made["id"]), what="adoption")

    assert adopted["id"] == reservation_id and adopted["room_id"] == site.hotel.rooms["101"]
    assert len(await reservations(db)) == 1
    [event] = await inbound_events(db, made["id"])
    assert event["status"] == "done" and event["entity_internal_id"] == reservation_id
    assert event["outcome_note"].startswith(f"adopted as reservation {reservation_id}")
    assert await outbound_count(db) == outbound_before  # nothing echoed back to Beds24
    assert await pending_creates(db) == 0
    assert len(await beds24_sandbox.bookings(site.beds24.id)) == 1


def _create_item(beds24_property_id: int, room_id: int, reference: str) -> dict[str, object]:
    """The create the outbound worker sends for the reservation above."""
    return {
        "propertyId": beds24_property_id,
        "roomId": room_id,
        "arrival": ARRIVAL,
        "departure": DEPARTURE,
        "status": "confirmed",
        "numAdult": 2,
        "numChild": 0,
        "lastName": "Hamilton",
        "apiReference": reference,
    }


async def _waiting(db: asyncpg.Pool, booking_id: int) -> bool:
    events = await inbound_events(db, booking_id)
    return any("PMS changes not yet sent" in (e["last_error"] or "") for e in events)
