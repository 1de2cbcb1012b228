"""A booking the outbound worker created comes back from Beds24 (a webhook) before its id is
stored, or after the store was lost: one PMS reservation, one Beds24 booking, whatever the
order. Gateway, inbound worker and outbound worker run in this process against the sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest
import uvicorn
from beds24_sandbox.handle import SandboxHandle
from channel_sync.health import EmbeddedServer
from channel_sync.testing.waiting import wait_for
from inbound_worker import apply as inbound_apply
from inbound_worker.app import run as run_inbound_worker
from inbound_worker.settings import InboundSettings
from outbound_worker.app import run as run_outbound_worker
from outbound_worker.settings import OutboundSettings
from webhook_gateway.app import create_app as create_gateway_app
from webhook_gateway.settings import GatewaySettings

ARRIVAL = date.today() + timedelta(days=40)


@contextlib.asynccontextmanager
async def stack(sandbox: SandboxHandle) -> AsyncIterator[str]:
    """Gateway (its URL is yielded) and both workers; settings from `settings_env`."""
    server = EmbeddedServer(
        uvicorn.Config(create_gateway_app(GatewaySettings()), port=0, log_config=None)
    )
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(server.serve()),
        asyncio.create_task(
            run_inbound_worker(
                InboundSettings(
                    beds24_api_url=sandbox.url, relay_poll_interval_s=0.2, poll_enabled=False
                ),
                stop,
                serve_health=False,
            )
        ),
        asyncio.create_task(
            run_outbound_worker(
                OutboundSettings(  # type: ignore[call-arg]
                    beds24_api_url=sandbox.url,
                    batch_window_ms=50,
                    relay_poll_interval_s=0.2,
                    busy_retry_s=0.2,
                    beds24_timeout_s=3.0,
                ),
                stop,
                serve_health=False,
            )
        ),
    ]
    try:
        await wait_for(lambda: _started(server, tasks), timeout=15, what="gateway start")
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        assert not any(t.done() for t in tasks), "a service stopped by itself"
    finally:
        server.should_exit = True
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)


async def _started(server: uvicorn.Server, tasks: list[asyncio.Task[None]]) -> bool:
    for task in tasks:
        if task.done():
            task.result()
            raise AssertionError("a service stopped during start")
    return server.started


async def connect(db: asyncpg.Pool, sandbox: SandboxHandle, gateway_url: str) -> UUID:
    """A sandbox property and its PMS twin (one room), webhooks pointed at the gateway."""
    beds24 = await sandbox.seed(rooms=[{"name": "Double", "qty": 1}])
    secret = f"own-{uuid.uuid4().hex}"
    async with db.acquire() as conn, conn.transaction():
        prop: UUID = await conn.fetchval(
            "INSERT INTO hotel_settings (name) VALUES ('Own Bookings Hotel') RETURNING id"
        )
        await conn.execute(
            """INSERT INTO beds24_properties (property_id, beds24_property_id, account_id,
                   refresh_token) VALUES ($1, $2, $3, $4)""",
            prop,
            beds24.id,
            str(beds24.account.account_id),
            beds24.account.refresh_token,
        )
        await conn.execute(
            "INSERT INTO webhook_secrets (property_id, secret_sha256) VALUES ($1, $2)",
            prop,
            hashlib.sha256(secret.encode()).hexdigest(),
        )
        room_type = await conn.fetchval(
            "INSERT INTO room_types (property_id, name) VALUES ($1, 'Double') RETURNING id", prop
        )
        await conn.execute(
            """INSERT INTO channel_mappings (property_id, mapping_type, internal_id, external_id)
               VALUES ($1, 'room_type', $2, $3)""",
            prop,
            room_type,
            str(beds24.room_ids[0]),
        )
        await conn.execute(
            "INSERT INTO rooms (property_id, room_type_id, name) VALUES ($1, $2, '101')",
            prop,
            room_type,
        )
    await sandbox.update_property(
        beds24.id,
        webhook={
            "urls": [f"{gateway_url}/webhooks/beds24/{prop}"],
            "custom_header": f"Authorization: Bearer {secret}",
            "version": "twoWithPersonalData",
        },
    )
    return prop


async def book(db: asyncpg.Pool, property_id: UUID) -> UUID:
    """The front desk books room 101: the capture trigger records the outbound create."""
    async with db.acquire() as conn:
        reservation: UUID = await conn.fetchval(
            """INSERT INTO reservations (property_id, room_id, arrival, departure,
                   guest_last_name, adults)
               SELECT $1, id, $2, $3, 'Lamarr', 2 FROM rooms WHERE property_id = $1
               RETURNING id""",
            property_id,
            ARRIVAL,
            ARRIVAL + timedelta(days=2),
        )
    return reservation


async def ours(sandbox: SandboxHandle, reservation: UUID) -> list[dict[str, Any]]:
    return [b for b in await sandbox.bookings() if b.get("apiReference") == f"pms-{reservation}"]


async def reservations(db: asyncpg.Pool, property_id: UUID) -> list[asyncpg.Record]:
    async with db.acquire() as conn:
        return list(
            await conn.fetch("SELECT * FROM reservations WHERE property_id = $1", property_id)
        )


async def events(db: asyncpg.Pool, property_id: UUID, direction: str) -> list[asyncpg.Record]:
    async with db.acquire() as conn:
        return list(
            await conn.fetch(
                """SELECT * FROM channel_events WHERE property_id = $1 AND direction = $2
                     AND entity_type = 'booking' ORDER BY received_at""",
                property_id,
                direction,
            )
        )


async def all_settled(db: asyncpg.Pool, property_id: UUID, inbound: int) -> bool:
    """At least `inbound` inbound events, and every booking event of the property settled."""
    found = await events(db, property_id, "inbound")
    every = found + await events(db, property_id, "outbound")
    return len(found) >= inbound and all(e["status"] in ("done", "failed") for e in every)


async def test_a_create_whose_answer_was_lost_for_good_is_adopted_from_its_webhook(
    settings_env: dict[str, str], db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    # The create is made but its answer lost, and every lookup by reference fails: the
    # outbound worker gives up without knowing the Beds24 id.
    await beds24_sandbox.inject_fault("lost_response", method="POST", path="/bookings")
    await beds24_sandbox.inject_fault("http_500", count=1000, method="GET", path="/bookings")
    async with stack(beds24_sandbox) as gateway_url:
        property_id = await connect(db, beds24_sandbox, gateway_url)
        reservation = await book(db, property_id)
        [create] = await wait_for(
            lambda: _failed(db, property_id), timeout=20, what="the create given up"
        )
        [made] = await ours(beds24_sandbox, reservation)
        await beds24_sandbox.clear_faults()

        await beds24_sandbox.replay_webhook(made["id"])  # Beds24 tells us about it
        await wait_for(lambda: all_settled(db, property_id, 1), what="the webhook applied")
        [adopted] = await reservations(db, property_id)
        assert (adopted["id"], adopted["beds24_booking_id"]) == (reservation, made["id"])

        # The PMS changes it: the outbound worker now modifies that booking, creates none.
        async with db.acquire() as conn:
            await conn.execute(
                "UPDATE reservations SET notes = 'late check-in' WHERE id = $1", reservation
            )
        await wait_for(lambda: _notes(beds24_sandbox, made["id"]), what="the change in Beds24")

    assert "GET /bookings: 500" in create["last_error"]
    assert len(await ours(beds24_sandbox, reservation)) == 1
    assert len(await reservations(db, property_id)) == 1
    [applied] = await events(db, property_id, "inbound")
    assert applied["outcome_note"].startswith(f"adopted as reservation {reservation}")
    outbound = await events(db, property_id, "outbound")
    assert [e["event_type"] for e in outbound] == ["pms.booking.create", "pms.booking.update"]
    assert outbound[-1]["status"] == "done"


async def test_a_create_whose_answer_was_lost_racing_its_webhook_is_one_reservation(
    settings_env: dict[str, str],
    db: asyncpg.Pool,
    beds24_sandbox: SandboxHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inbound_apply, "UNSENT_CHANGES_WAIT", timedelta(milliseconds=200))
    await beds24_sandbox.inject_fault("lost_response", method="POST", path="/bookings")
    async with stack(beds24_sandbox) as gateway_url:
        property_id = await connect(db, beds24_sandbox, gateway_url)
        reservation = await book(db, property_id)
        [made] = await wait_for(lambda: ours(beds24_sandbox, reservation), what="the create")
        # Its webhook comes at once, while the outbound worker is still resolving its create.
        await beds24_sandbox.replay_webhook(made["id"], duplicates=1)
        await wait_for(lambda: all_settled(db, property_id, 1), timeout=20, what="all settled")

    [r] = await reservations(db, property_id)
    assert (r["id"], r["beds24_booking_id"], r["needs_attention"]) == (
        reservation,
        made["id"],
        False,
    )
    assert len(await ours(beds24_sandbox, reservation)) == 1
    settled = await events(db, property_id, "inbound") + await events(db, property_id, "outbound")
    assert {e["status"] for e in settled} == {"done"}


async def _failed(db: asyncpg.Pool, property_id: UUID) -> list[asyncpg.Record]:
    return [e for e in await events(db, property_id, "outbound") if e["status"] == "failed"]


async def _notes(sandbox: SandboxHandle, booking_id: int) -> bool:
    return (await sandbox.booking(booking_id)).get("notes") == "late check-in"
