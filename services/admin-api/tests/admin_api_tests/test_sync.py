"""Initial sync and reconciliation through the admin API: a request is a `sync_runs` row
(the inbound worker does the work), one unfinished run per property; progress, drift and
the conflict policy are shown; onboarding offers the initial sync once rooms are mapped."""

from __future__ import annotations

import uuid
from uuid import UUID

import asyncpg
import httpx

from .factories import connect_beds24, insert_property, insert_room_type


async def _linked(db: asyncpg.Pool) -> UUID:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        await connect_beds24(conn, prop, 5001)
    return prop


async def test_an_initial_sync_is_requested_once_and_shown(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    prop = await _linked(db)

    first = await api.post(f"/admin/properties/{prop}/initial-sync")
    again = await api.post(f"/admin/properties/{prop}/reconcile")

    assert first.status_code == 202, first.text
    run = first.json()
    assert (run["kind"], run["status"], run["stage"]) == ("initial", "requested", "bookings")
    assert again.status_code == 409
    assert run["id"] in again.json()["error"]
    shown = await api.get(f"/admin/sync-runs/{run['id']}")
    assert shown.json()["id"] == run["id"]
    listed = await api.get(f"/admin/properties/{prop}/sync-runs")
    assert [r["id"] for r in listed.json()["runs"]] == [run["id"]]
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM sync_runs") == 1


async def test_a_property_without_beds24_cannot_be_synced(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)

    for path in (
        f"/admin/properties/{prop}/initial-sync",
        f"/admin/properties/{uuid.uuid4()}/reconcile",
    ):
        response = await api.post(path)
        assert response.status_code == 404, response.text
    assert (await api.get(f"/admin/sync-runs/{uuid.uuid4()}")).status_code == 404
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM sync_runs") == 0


async def test_open_drift_is_listed_for_an_operator(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    prop = await _linked(db)
    async with db.acquire() as conn:
        await conn.execute(
            """INSERT INTO drift_records (property_id, kind, subject, beds24_value, pms_value,
                   status, resolution)
               VALUES ($1, 'booking_differs', 'booking 7', $2, $3, 'open', 'cannot decide'),
                      ($1, 'availability_differs', 'room 5001 2031-01-01..2031-01-02', $2,
                       $3, 'repaired', 'sent')""",
            prop,
            {"departure": "2031-01-03"},
            {"departure": "2031-01-04"},
        )

    response = await api.get("/admin/drift", params={"property_id": str(prop), "status": "open"})

    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == 1
    [record] = page["drift"]
    assert (record["subject"], record["beds24_value"], record["pms_value"]) == (
        "booking 7",
        {"departure": "2031-01-03"},
        {"departure": "2031-01-04"},
    )
    assert (await api.get("/admin/drift", params={"status": "stale"})).status_code == 400
    assert (await api.get("/admin/drift", params={"limit": "1.0"})).status_code == 400


async def test_the_conflict_policy_is_shown_and_set(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    prop = await _linked(db)
    url = f"/admin/properties/{prop}/sync-policy"

    assert (await api.get(url)).json() == {"policy": "by_origin"}
    assert (await api.put(url, json={"policy": "sometimes"})).status_code == 400
    changed = await api.put(url, json={"policy": "flag"})

    assert changed.status_code == 200, changed.text
    assert (await api.get(url)).json() == {"policy": "flag"}


async def test_onboarding_offers_the_initial_sync_once_rooms_are_mapped(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    prop = await _linked(db)
    async with db.acquire() as conn:
        double = await insert_room_type(conn, prop, "Double")
    url = f"/admin/properties/{prop}/mappings"
    assert (await api.get(url)).json()["next_step"] is None

    mapped = await api.put(
        url,
        json={
            "mappings": [
                {"mapping_type": "room_type", "internal_id": str(double), "external_id": "7002"}
            ]
        },
    )

    assert f"/admin/properties/{prop}/initial-sync" in mapped.json()["next_step"]
