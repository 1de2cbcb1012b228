"""A booking the outbound worker created comes back from Beds24 (a webhook) before its id is
stored, or after the store was lost: one PMS reservation, one Beds24 booking, whatever the
order. Gateway, inbound worker and outbound worker run in this process against the sandbox.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date, timedelta
from uuid import UUID

import asyncpg
import pytest
from beds24_sandbox.handle import SandboxHandle
from channel_sync_testing.waiting import wait_for
from inbound_worker import apply as inbound_apply

from tests.conftest import book as book_room
from tests.conftest import connect, ours, stack

ARRIVAL = date.today() + timedelta(days=40)


@contextlib.asynccontextmanager
async def connected(db: asyncpg.Pool, sandbox: SandboxHandle) -> AsyncIterator[UUID]:
    """The services running, and a sandbox property with its PMS twin (room 101)."""
    async with stack(sandbox, busy_retry_s=0.2, beds24_timeout_s=3.0) as gateway_url:
        site = await connect(db, sandbox, gateway_url, name="Own Bookings Hotel")
        yield site.property_id


async def book(db: asyncpg.Pool, property_id: UUID) -> UUID:
    """The front desk books room 101: the capture trigger records the outbound create."""
    return await book_room(db, property_id, ARRIVAL, "Lamarr")


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
    async with connected(db, beds24_sandbox) as property_id:
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
    async with connected(db, beds24_sandbox) as property_id:
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
