"""Live inventory holds through the admin API: what is held, for which nights, its age and
who placed it; ended holds are not listed."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import asyncpg
import httpx

from .factories import insert_property, insert_room_type

ARRIVAL = date.today() + timedelta(days=12)


async def test_live_holds_are_listed_with_their_age_and_placer(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        kind = await insert_room_type(conn, prop, "Suite")
        for reference, status, ended in (("cart-1", "held", None), ("cart-2", "expired", "now")):
            await conn.execute(
                """INSERT INTO inventory_holds (property_id, room_type_id, beds24_room_id,
                       arrival, departure, expires_at, reference, placed_by, status, ended_at,
                       created_at)
                   VALUES ($1, $2, '901', $3, $4, now() + interval '10 minutes', $5,
                           'booking engine', $6, CASE WHEN $7::text IS NULL THEN NULL
                                                      ELSE now() END,
                           now() - interval '2 minutes')""",
                prop,
                kind,
                ARRIVAL,
                ARRIVAL + timedelta(days=2),
                reference,
                status,
                ended,
            )

    listed = await api.get(f"/admin/properties/{prop}/holds")
    missing = await api.get(f"/admin/properties/{uuid.uuid4()}/holds")
    bad = await api.get(f"/admin/properties/{prop}/holds", params={"limit": "0"})

    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 1
    [hold] = body["holds"]
    assert (hold["held"], hold["reference"], hold["placed_by"]) == (
        "Suite",
        "cart-1",
        "booking engine",
    )
    assert (hold["arrival"], hold["beds24_room_id"]) == (ARRIVAL.isoformat(), "901")
    assert 110 < hold["age_s"] < 300 and 0 < hold["expires_in_s"] <= 600
    assert missing.status_code == 404
    assert bad.status_code in (400, 422)
