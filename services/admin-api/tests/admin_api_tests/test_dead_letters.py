"""Dead letters that say what to do, through the API: each names its property and booking
(Beds24 id, PMS reservation, guest masked, dates) both ways, says whether a retry can help or
what to fix; resolving one keeps it (failed, marked resolved by whom and why) and takes it
out of the lists and counts; tries mean what they say."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from channel_sync.events import Direction, EventStatus

from .conftest import Admin
from .factories import insert_event, insert_property, make_operator

DEPARTURE_FIRST = "Beds24 booking 4242: departure 2031-06-01 is not after arrival 2031-06-03"
UNMAPPED = (
    "reservation {id}: its room is not mapped to a Beds24 room "
    "(add a 'room' or 'room_type' channel mapping)"
)


async def _reservation(conn: asyncpg.Connection, prop: UUID) -> UUID:
    async with conn.transaction():
        await conn.execute("SELECT set_config('channel_sync.origin', 'beds24', true)")
        found: UUID = await conn.fetchval(
            """INSERT INTO reservations (property_id, arrival, departure, guest_first_name,
                   guest_last_name, adults) VALUES ($1, $2, $3, 'Ada', 'Lovelace', 2)
               RETURNING id""",
            prop,
            date(2031, 7, 1),
            date(2031, 7, 4),
        )
        await conn.execute("DELETE FROM channel_events")
    return found


async def _failures(db: asyncpg.Pool) -> dict[str, Any]:
    async with db.acquire() as conn:
        seaside = await insert_property(conn, "Seaside")
        reservation = await _reservation(conn, seaside)
        inbound = await insert_event(
            conn,
            seaside,
            direction=Direction.INBOUND,
            status=EventStatus.FAILED,
            entity_external_id="4242",
            last_error=DEPARTURE_FIRST,
            payload={
                "booking": {
                    "id": 4242,
                    "arrival": "2031-06-03",
                    "departure": "2031-06-01",
                    "firstName": "Grace",
                    "lastName": "Hopper",
                }
            },
        )
        create = await insert_event(
            conn,
            seaside,
            event_type="pms.booking.create",
            status=EventStatus.FAILED,
            entity_external_id=None,
            entity_internal_id=reservation,
            last_error=UNMAPPED.format(id=reservation),
            payload={"reservation_id": str(reservation)},
        )
        passing = await insert_event(
            conn,
            seaside,
            status=EventStatus.FAILED,
            attempts=3,
            last_error="Beds24 failed on POST /bookings: 503 busy",
        )
    return {"inbound": inbound, "create": create, "passing": passing, "res": reservation}


async def test_dead_letters_name_their_booking_and_their_fix(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    made = await _failures(db)
    page = (await api.get("/admin/dead-letters")).json()
    assert page["total"] == 3
    by_id = {d["event"]["id"]: d for d in page["dead_letters"]}

    inbound = by_id[str(made["inbound"].id)]
    assert inbound["property_name"] == "Seaside"
    assert inbound["about"] == {
        "beds24_booking_id": "4242",
        "reservation_id": None,
        "guest": "G•••••• H••••••",
        "arrival": "2031-06-03",
        "departure": "2031-06-01",
        "beds24_room_id": None,
    }
    assert inbound["failure"]["retryable"] is False and not inbound["failure"]["fix_first"]
    assert "impossible dates" in inbound["failure"]["next_step"]
    assert (inbound["event"]["tries"], inbound["event"]["tries_said"]) == (
        1,
        "failed for good on try 1",
    )

    create = by_id[str(made["create"].id)]
    assert create["about"]["beds24_booking_id"] is None  # a create: not in Beds24 yet
    assert create["about"]["reservation_id"] == str(made["res"])
    assert create["about"]["guest"] == "A•••••• L••••••"
    assert (create["about"]["arrival"], create["about"]["departure"]) == (
        "2031-07-01",
        "2031-07-04",
    )
    assert create["failure"]["fix_first"] and "Map the room" in create["failure"]["next_step"]

    passing = by_id[str(made["passing"].id)]
    assert (
        passing["failure"]["retryable"]
        and passing["event"]["tries_said"] == "gave up after 3 tries"
    )
    for text in ("Grace", "Hopper", "Ada", "Lovelace"):
        assert text not in str(page)

    detail = (await api.get(f"/admin/events/{made['inbound'].id}")).json()
    assert detail["failure"]["retryable"] is False and detail["tries"] == 1
    outbound = (await api.get("/admin/dead-letters", params={"direction": "outbound"})).json()
    assert outbound["total"] == 2


async def test_resolving_keeps_the_event_and_the_counts_go_down(
    admin: Admin, api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    made = await _failures(db)
    inbound = made["inbound"]
    before = (await api.get("/admin/stats")).json()["dead_letters"]
    assert before == {"inbound": 1, "outbound": 2}
    async with admin.client(await make_operator(db, "alice")) as alice:
        for body in ({}, {"note": ""}, {"note": "x" * 501}, {"note": "ok", "more": 1}):
            refused = await alice.post(f"/admin/events/{inbound.id}/resolve", json=body)
            assert refused.status_code == 400, body
        resolved = await alice.post(
            f"/admin/events/{inbound.id}/resolve", json={"note": "dates fixed in Beds24"}
        )
        assert resolved.status_code == 200, resolved.text
        again = await alice.post(f"/admin/events/{inbound.id}/resolve", json={"note": "again"})
        assert again.status_code == 409 and "alice" in again.json()["error"]
    body = resolved.json()
    assert body["status"] == "failed" and body["resolved_by"] == "alice"
    assert body["resolution_note"] == "dates fixed in Beds24" and body["resolved_at"]
    assert (await api.get("/admin/stats")).json()["dead_letters"] == {"inbound": 0, "outbound": 2}
    listed = (await api.get("/admin/dead-letters")).json()
    assert listed["total"] == 2 and str(inbound.id) not in str(listed)
    kept = (await api.get(f"/admin/events/{inbound.id}")).json()
    assert kept["status"] == "failed" and kept["resolved_by"] == "alice"
    trail = (await api.get("/admin/audit", params={"action": "event.resolve"})).json()
    success = [r for r in trail["records"] if r["outcome"] == "success"]
    assert [(r["actor"], r["event_ids"]) for r in success] == [("alice", [str(inbound.id)])]
    assert "dates fixed" not in str(trail)  # the note stays with the event

    # A retry brings it back: if it fails again, it is a dead letter again.
    retried = await api.post(f"/admin/events/{inbound.id}/retry")
    assert retried.status_code == 202 and retried.json()["event"]["resolved_at"] is None


async def test_only_dead_letters_can_be_resolved_and_a_viewer_cannot(
    admin: Admin, api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_property(conn)
        done = await insert_event(conn, hotel, status=EventStatus.DONE)
        failed = await insert_event(conn, hotel, status=EventStatus.FAILED, last_error="x")
    refused = await api.post(f"/admin/events/{done.id}/resolve", json={"note": "n"})
    assert refused.status_code == 409 and "not failed" in refused.json()["error"]
    missing = await api.post(f"/admin/events/{UUID(int=1)}/resolve", json={"note": "n"})
    assert missing.status_code == 404
    async with admin.client(await make_operator(db, "vic", "viewer")) as vic:
        forbidden = await vic.post(f"/admin/events/{failed.id}/resolve", json={"note": "n"})
        assert forbidden.status_code == 403
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT resolved_at FROM channel_events")
    assert [r["resolved_at"] for r in rows] == [None, None]


async def test_a_success_shows_its_tries(api: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        hotel = await insert_property(conn)
        first = await insert_event(conn, hotel, status=EventStatus.DONE)
        third = await insert_event(conn, hotel, status=EventStatus.DONE, attempts=2)
    listed = {e["id"]: e for e in (await api.get("/admin/events")).json()["events"]}
    assert (listed[str(first.id)]["tries"], listed[str(first.id)]["tries_said"]) == (1, "1 try")
    assert listed[str(third.id)]["tries_said"] == "3 tries"
