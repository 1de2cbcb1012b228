"""Connecting a hotel that already has bookings, end to end: gateway, both
workers (with the sync runner) against the Beds24 sandbox.

The initial sync imports Beds24's current and future bookings (cancelled ones and those
past the first page included) and sends the PMS's own reservations; run again, it changes
nothing. Then drift is made on purpose on each side (a booking edited in Beds24 whose
webhook is dropped, a reservation changed in the PMS whose event is deleted, availability
changed in Beds24) and a reconciliation finds and repairs it, through events: a stay changed
in the PMS is won by Beds24 for a channel booking and by the PMS for its own; a stay no
policy can decide stays open; a second reconciliation finds nothing new.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from beds24_sandbox.handle import SandboxHandle
from channel_sync.beds24 import Beds24Client, calendar_item
from channel_sync.pms_origin import mark_beds24_origin
from channel_sync_testing.waiting import wait_for

from tests.conftest import Site, connect, ours, stack

TODAY = date.today()
DROP = {"drop": True}  # the webhook never arrives


def day(n: int) -> date:
    return TODAY + timedelta(days=n)


@contextlib.asynccontextmanager
async def connected(
    db: asyncpg.Pool, sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Site]:
    monkeypatch.setenv("SYNC_EVERY_S", "0.2")
    monkeypatch.setenv("SYNC_SETTLE_S", "30")
    monkeypatch.setenv("RECONCILE_INTERVAL_S", "0")
    await sandbox.configure(page_size=3)
    async with stack(sandbox, beds24_timeout_s=5.0) as gateway_url:
        yield await connect(
            db,
            sandbox,
            gateway_url,
            name="Busy Hotel",
            rooms=("101", "102", "103"),
            credit_limit=1000,
        )


async def front_desk(db: asyncpg.Pool, site: Site, room: str, arrival: int, nights: int) -> UUID:
    """A reservation the PMS held before it was connected (no event was captured then)."""
    async with db.acquire() as conn, conn.transaction():
        await mark_beds24_origin(conn)
        reservation: UUID = await conn.fetchval(
            """INSERT INTO reservations (property_id, room_id, arrival, departure, adults,
                   guest_last_name)
               SELECT $1, id, $3, $4, 2, 'Desk' FROM rooms WHERE property_id = $1 AND name = $2
               RETURNING id""",
            site.property_id,
            room,
            day(arrival),
            day(arrival + nights),
        )
    return reservation


async def change_without_event(db: asyncpg.Pool, reservation: UUID, departure: date) -> None:
    """A PMS change whose outbound events are lost (deleted in its own transaction)."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE reservations SET departure = $2 WHERE id = $1", reservation, departure
        )
        deleted = await conn.execute(
            "DELETE FROM channel_events WHERE direction = 'outbound' AND received_at = now()"
        )
        assert deleted != "DELETE 0"


async def request(db: asyncpg.Pool, site: Site, kind: str) -> UUID:
    async with db.acquire() as conn:
        run_id: UUID = await conn.fetchval(
            "INSERT INTO sync_runs (property_id, kind) VALUES ($1, $2) RETURNING id",
            site.property_id,
            kind,
        )
    return run_id


async def finished(db: asyncpg.Pool, site: Site, run_id: UUID) -> asyncpg.Record | None:
    """The run once it is done and every event of the property is settled."""
    async with db.acquire() as conn:
        run = await conn.fetchrow("SELECT * FROM sync_runs WHERE id = $1", run_id)
        busy = await conn.fetchval(
            """SELECT count(*) FROM channel_events WHERE property_id = $1
               AND status IN ('received', 'processing')""",
            site.property_id,
        )
    return run if run is not None and run["status"] == "done" and busy == 0 else None


async def run_to_end(db: asyncpg.Pool, site: Site, kind: str) -> asyncpg.Record:
    run_id = await request(db, site, kind)
    run: asyncpg.Record = await wait_for(
        lambda: finished(db, site, run_id), timeout=60, what=f"the {kind} run and its events"
    )
    return run


async def rows(db: asyncpg.Pool, sql: str, *args: Any) -> list[asyncpg.Record]:
    async with db.acquire() as conn:
        return list(await conn.fetch(sql, *args))


async def reservation_of(db: asyncpg.Pool, booking_id: int) -> asyncpg.Record:
    [found] = await rows(db, "SELECT * FROM reservations WHERE beds24_booking_id = $1", booking_id)
    return found


async def test_a_hotel_with_bookings_on_both_sides_is_synced_then_drift_is_repaired(
    settings_env: dict[str, str],
    db: asyncpg.Pool,
    beds24_sandbox: SandboxHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sandbox = beds24_sandbox
    async with connected(db, sandbox, monkeypatch) as site:
        room = site.room_id
        ota = [
            await sandbox.guest_booking(room, day(a), day(a + 2), delivery=DROP)
            for a in (2, 5, 8, 11)
        ]
        cancelled = await sandbox.guest_booking(room, day(14), day(16), delivery=DROP)
        await sandbox.cancel_guest_booking(cancelled["id"], delivery=DROP)
        typed_in = await sandbox.guest_booking(
            room, day(17), day(19), channel="direct", delivery=DROP
        )
        desk = [await front_desk(db, site, "102", 20, 2), await front_desk(db, site, "103", 24, 3)]

        initial = await run_to_end(db, site, "initial")

        assert initial["progress"]["pages"] >= 2
        assert initial["progress"]["bookings_seen"] == 6
        held = await rows(db, "SELECT * FROM reservations WHERE property_id = $1", site.property_id)
        assert len(held) == 8  # six from Beds24 (the cancelled one too), two of the desk
        assert (await reservation_of(db, cancelled["id"]))["status"] == "cancelled"
        made = [await ours(sandbox, r) for r in desk]
        assert [len(m) for m in made] == [1, 1]
        assert len(await sandbox.bookings(site.beds24.id)) == 8
        count_events = "SELECT count(*) AS n FROM channel_events WHERE property_id = $1"
        [before] = await rows(db, count_events, site.property_id)

        # Run again: nothing is added on either side.
        again = await run_to_end(db, site, "initial")
        assert again["progress"].get("drift_found", 0) == 0
        [after] = await rows(db, count_events, site.property_id)
        assert after["n"] == before["n"]
        assert len(await sandbox.bookings(site.beds24.id)) == 8

        # Drift on purpose, on each side.
        await sandbox.modify_guest_booking(ota[0]["id"], departure=day(5), delivery=DROP)
        await change_without_event(db, desk[0], day(23))
        await change_without_event(db, (await reservation_of(db, ota[2]["id"]))["id"], day(11))
        await change_without_event(db, (await reservation_of(db, typed_in["id"]))["id"], day(20))
        async with Beds24Client(sandbox.url, site.beds24.account.refresh_token) as client:
            nights = {day(n): {"numAvail": 0} for n in (40, 41, 42)}
            await client.write_calendar([calendar_item(room, nights)])

        reconciled = await run_to_end(db, site, "reconcile")

        drift = await rows(
            db, "SELECT * FROM drift_records WHERE run_id = $1 ORDER BY kind", reconciled["id"]
        )
        by_subject = {d["subject"]: d for d in drift}
        edited = by_subject[f"booking {ota[0]['id']}"]
        assert (edited["kind"], edited["status"]) == ("booking_differs", "repaired")
        assert edited["beds24_value"] == {"departure": day(5).isoformat()}
        assert (await reservation_of(db, ota[0]["id"]))["departure"] == day(5)
        desk_booking = made[0][0]["id"]
        changed = by_subject[f"booking {desk_booking}"]
        assert (changed["status"], changed["pms_value"]) == (
            "repaired",
            {"departure": day(23).isoformat()},
        )
        assert (await sandbox.booking(desk_booking))["departure"] == day(23).isoformat()
        channel_wins = by_subject[f"booking {ota[2]['id']}"]
        assert channel_wins["status"] == "repaired"
        assert "Beds24 wins" in channel_wins["resolution"]
        assert (await reservation_of(db, ota[2]["id"]))["departure"] == day(10)
        conflict = by_subject[f"booking {typed_in['id']}"]
        assert (conflict["status"], conflict["event_id"]) == ("open", None)
        assert (await sandbox.booking(typed_in["id"]))["departure"] == day(19).isoformat()
        assert (await reservation_of(db, typed_in["id"]))["departure"] == day(20)
        closed = by_subject[f"room {room} {day(40)}..{day(42)}"]
        assert (closed["kind"], closed["status"]) == ("availability_differs", "repaired")
        assert closed["beds24_value"]["numAvail"] == {str(day(n)): 0 for n in (40, 41, 42)}
        async with Beds24Client(sandbox.url, site.beds24.account.refresh_token) as client:
            [calendar] = await client.get_calendar([room], day(40), day(42))
        assert [c["numAvail"] for c in calendar["calendar"]] == [3]
        for repaired in (edited, changed, channel_wins, closed):
            [event] = await rows(
                db, "SELECT * FROM channel_events WHERE id = $1", repaired["event_id"]
            )
            assert event["status"] == "done"

        # Once more: only the open conflict is found again; nothing else is added.
        [before] = await rows(db, count_events, site.property_id)
        last = await run_to_end(db, site, "reconcile")
        assert last["progress"].get("drift_repaired", 0) == 0
        [after] = await rows(db, count_events, site.property_id)
        assert after["n"] == before["n"]
        still_open = await rows(
            db,
            "SELECT * FROM drift_records WHERE status = 'open' AND property_id = $1",
            site.property_id,
        )
        assert [d["subject"] for d in still_open] == [f"booking {typed_in['id']}"]
