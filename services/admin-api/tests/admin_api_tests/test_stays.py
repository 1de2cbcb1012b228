"""Multi-room stays through the admin API: the stay with its rooms (which Beds24 booking each
came from, which one waits for a room), the group members not received yet, the rooms'
events; and a reservation with its stay."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from uuid import UUID

import asyncpg
import httpx
from channel_sync.events import Direction

from .factories import insert_event, insert_property, insert_room

ARRIVAL = date.today() + timedelta(days=10)


async def _stay(db: asyncpg.Pool) -> tuple[UUID, UUID, list[UUID]]:
    """A stay of Beds24 group 7001 (members 7001, 7002, 7003; 7003 not received): 7001 in
    room 101, 7002 waiting for a room, plus room 2 of a roomQty booking 7001."""
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        room = await insert_room(conn, prop, "101")
        other = await insert_room(conn, prop, "102")
        stay = await conn.fetchval(
            """INSERT INTO stays (property_id, beds24_master_id, beds24_group_ids,
                   channel_reference) VALUES ($1, 7001, '{7001,7002,7003}', 'BDC-1')
               RETURNING id""",
            prop,
        )
        rows = [
            ("7001", None, None, room, False),
            ("7002", None, None, None, True),
            (None, 7001, 2, other, False),
        ]
        ids = []
        for booking, qty_of, index, room_id, waits in rows:
            ids.append(
                await conn.fetchval(
                    """INSERT INTO reservations (property_id, stay_id, room_id, arrival,
                           departure, beds24_booking_id, beds24_qty_booking_id,
                           beds24_qty_index, beds24_room_id, needs_attention, attention_reason)
                       VALUES ($1, $2, $3, $4, $5, $6::bigint, $7, $8, '555', $9,
                               CASE WHEN $9 THEN 'no free PMS room' END)
                       RETURNING id""",
                    prop,
                    stay,
                    room_id,
                    ARRIVAL,
                    ARRIVAL + timedelta(days=2),
                    None if booking is None else int(booking),
                    qty_of,
                    index,
                    waits,
                )
            )
        await insert_event(
            conn,
            prop,
            direction=Direction.INBOUND,
            entity_external_id="7002",
            entity_internal_id=ids[1],
        )
        await insert_event(conn, prop, entity_external_id="9999")  # another booking's
    return prop, stay, ids


async def test_a_stay_shows_its_rooms_their_origin_and_events(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    prop, stay, ids = await _stay(db)

    shown = await api.get(f"/admin/stays/{stay}")
    listed = await api.get("/admin/stays", params={"property_id": str(prop)})

    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["beds24_master_id"], body["channel_reference"]) == (7001, "BDC-1")
    assert (body["rooms_held"], body["rooms_total"]) == (3, 3)
    assert body["missing_beds24_ids"] == [7003]
    origin = [(r["beds24_booking_id"], r["beds24_room_number"]) for r in body["rooms"]]
    assert origin == [(7001, 1), (7001, 2), (7002, 1)]
    waiting = [r for r in body["rooms"] if r["room_id"] is None]
    assert [r["reservation_id"] for r in waiting] == [str(ids[1])]
    assert waiting[0]["needs_attention"] and waiting[0]["attention_reason"]
    assert [e["entity_external_id"] for e in body["events"]] == ["7002"]
    assert [s["id"] for s in listed.json()["stays"]] == [str(stay)]


async def test_a_reservation_shows_its_stay_and_unknown_ids_are_404(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    _, stay, ids = await _stay(db)

    shown = await api.get(f"/admin/reservations/{ids[2]}")
    missing = await api.get(f"/admin/stays/{uuid.uuid4()}")
    bad = await api.get("/admin/stays/not-a-uuid")

    assert shown.status_code == 200, shown.text
    assert shown.json()["stay"]["id"] == str(stay)
    assert shown.json()["room"]["beds24_room_number"] == 2
    assert (missing.status_code, bad.status_code) == (404, 400)
