"""The DLQ demo scenario, end to end, through the admin API only (no SQL on channel_events):

Beds24 (the sandbox) keeps failing → the outbound event ends `failed` after 3 attempts and
its message lands in pms.dlq → `GET /admin/events?status=failed` shows it with the reason →
Beds24 recovers → `POST /admin/events/{id}/retry` → `done`, with one booking in Beds24.

The property is onboarded and mapped through the admin API as an operator would; the
outbound worker runs in this process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from admin_api.app import create_app
from admin_api.settings import AdminSettings
from beds24_sandbox.handle import SandboxHandle
from channel_sync_testing.waiting import wait_for
from outbound_worker.app import run as run_outbound_worker
from outbound_worker.settings import OutboundSettings

from tests.conftest import book, ours, serving

TOKEN = "e2e-admin-token"
ARRIVAL = date.today() + timedelta(days=30)


@pytest.fixture
async def admin(
    settings_env: dict[str, str], beds24_sandbox: SandboxHandle, db: asyncpg.Pool
) -> AsyncIterator[httpx.AsyncClient]:
    settings = AdminSettings(admin_api_token=TOKEN, beds24_api_url=beds24_sandbox.url)
    async with serving(create_app(settings), {"Authorization": f"Bearer {TOKEN}"}) as running:
        yield running.client


@pytest.fixture
async def outbound_worker(
    settings_env: dict[str, str], beds24_sandbox: SandboxHandle
) -> AsyncIterator[None]:
    settings = OutboundSettings(  # type: ignore[call-arg]
        beds24_api_url=beds24_sandbox.url,
        batch_window_ms=100,
        relay_poll_interval_s=0.5,
        busy_retry_s=0.2,
        beds24_timeout_s=3.0,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_outbound_worker(settings, stop, serve_health=False))
    yield
    stop.set()
    await task


async def _onboard(admin: httpx.AsyncClient, db: asyncpg.Pool, sandbox: SandboxHandle) -> UUID:
    """Register the sandbox property and map a PMS room type to its Beds24 room."""
    seeded = await sandbox.seed(rooms=[{"name": "Double", "qty": 2}])
    invite = await sandbox.new_invite_code(seeded.account.account_id)
    registered = await admin.post(
        "/admin/properties",
        json={"name": "DLQ Demo Hotel", "beds24_property_id": seeded.id, "invite_code": invite},
    )
    assert registered.status_code == 201, registered.text
    property_id = UUID(registered.json()["property"]["property_id"])
    async with db.acquire() as conn:
        room_type = await conn.fetchval(
            "INSERT INTO room_types (property_id, name) VALUES ($1, 'Double') RETURNING id",
            property_id,
        )
        await conn.execute(
            "INSERT INTO rooms (property_id, room_type_id, name) VALUES ($1, $2, '101')",
            property_id,
            room_type,
        )
    mapped = await admin.put(
        f"/admin/properties/{property_id}/mappings",
        json={
            "mappings": [
                {
                    "mapping_type": "room_type",
                    "internal_id": str(room_type),
                    "external_id": str(seeded.room_ids[0]),
                }
            ]
        },
    )
    assert mapped.status_code == 200, mapped.text
    return property_id


async def test_failed_event_shows_in_the_dlq_listing_and_retry_makes_it_done(
    admin: httpx.AsyncClient,
    db: asyncpg.Pool,
    beds24_sandbox: SandboxHandle,
    outbound_worker: None,
) -> None:
    property_id = await _onboard(admin, db, beds24_sandbox)
    dlq_before = (await admin.get("/admin/stats")).json()["dlq"]["pms.dlq"]
    await beds24_sandbox.inject_fault("http_500", count=1000, method="POST", path="/bookings")
    reservation = await book(db, property_id, ARRIVAL, "Demo")

    async def failed_listing() -> list[dict[str, Any]]:
        body = (
            await admin.get(
                "/admin/events", params={"status": "failed", "property_id": str(property_id)}
            )
        ).json()
        return [e for e in body["events"] if e["entity_internal_id"] == str(reservation)]

    [failed] = await wait_for(failed_listing, timeout=30, what="the event to fail")
    assert failed["event_type"] == "pms.booking.create" and failed["direction"] == "outbound"
    assert failed["attempts"] == 3
    assert "500" in failed["last_error"]
    assert len(await beds24_sandbox.calls(method="POST", path="/bookings")) == 3
    assert await beds24_sandbox.bookings(property_id=None) == []

    async def dead_lettered() -> bool:
        stats = (await admin.get("/admin/stats")).json()
        return bool(stats["dlq"]["pms.dlq"] >= dlq_before + 1)

    await wait_for(dead_lettered, what="the message in pms.dlq")

    await beds24_sandbox.clear_faults()
    retried = await admin.post(f"/admin/events/{failed['id']}/retry")
    assert retried.status_code == 202 and retried.json()["published"] is True

    async def settled() -> dict[str, Any] | None:
        event = (await admin.get(f"/admin/events/{failed['id']}")).json()
        return event if event["status"] in ("done", "failed") else None

    event = await wait_for(settled, timeout=30, what="the retried event to settle")
    assert event["status"] == "done" and event["attempts"] == 0
    made = await ours(beds24_sandbox, reservation)
    assert len(made) == 1 and made[0]["status"] != "cancelled"
    # A second retry of a done event is refused without the replay flag.
    again = await admin.post(f"/admin/events/{failed['id']}/retry")
    assert again.status_code == 409
