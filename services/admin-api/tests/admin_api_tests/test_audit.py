"""The audit trail: every change through the API names who made it, when, on which events or
property, and its outcome; GET /admin/audit lists it newest first, filtered and paged; it
never holds guest data, notes or secrets."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
from channel_sync.events import EventStatus

from .conftest import Admin
from .factories import insert_event, insert_property, make_operator
from .test_drift_decisions import _look_alike, _url


async def test_two_operators_act_and_the_trail_names_each(
    admin: Admin, api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_property(conn)
        first = await insert_event(conn, hotel, status=EventStatus.FAILED, last_error="x")
        second = await insert_event(conn, hotel, status=EventStatus.FAILED, last_error="y")
        done = await insert_event(conn, hotel, status=EventStatus.DONE)
    alice = admin.client(await make_operator(db, "alice"))
    bob = admin.client(await make_operator(db, "bob"))
    async with alice, bob:
        assert (await alice.post(f"/admin/events/{first.id}/retry")).status_code == 202
        assert (await bob.post(f"/admin/events/{second.id}/retry")).status_code == 202
        refused = await bob.post(f"/admin/events/{done.id}/retry")  # done: needs replay
        assert refused.status_code == 409
        gone = await alice.post(f"/admin/events/{uuid.uuid4()}/retry")
        assert gone.status_code == 404
        mine = await alice.get("/admin/audit", params={"actor": "ALICE"})
        on_second = await alice.get("/admin/audit", params={"event_id": str(second.id)})
        refusals = await alice.get("/admin/audit", params={"outcome": "refused"})

    records = mine.json()["records"]
    assert [(r["actor"], r["action"], r["outcome"], r["status"]) for r in records] == [
        ("alice", "event.retry", "refused", 404),
        ("alice", "event.retry", "success", 202),
    ]
    success = records[1]
    assert success["event_ids"] == [str(first.id)] and success["property_id"] == str(hotel)
    assert success["via"] == "api" and success["role"] == "operator" and success["at"]
    assert [(r["actor"], r["event_ids"]) for r in on_second.json()["records"]] == [
        ("bob", [str(second.id)])
    ]
    assert {(r["actor"], r["status"]) for r in refusals.json()["records"]} == {
        ("bob", 409),
        ("alice", 404),
    }
    assert "replay" in next(
        r["detail"]["error"] for r in refusals.json()["records"] if r["actor"] == "bob"
    )


async def test_the_trail_pages_newest_first(api: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    for _ in range(5):
        await api.post("/admin/dlq/sweep")  # broker reachable or not, each is recorded
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": "2", "action": "dlq.sweep"}
        if cursor:
            params["cursor"] = cursor
        page = (await api.get("/admin/audit", params=params)).json()
        assert page["total"] == 5
        seen += [r["id"] for r in page["records"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)
    for params in (
        {"limit": "0"},
        {"limit": "201"},
        {"cursor": "abc"},
        {"outcome": "maybe"},
        {"event_id": "not-an-id"},
        {"since": "yesterday"},
        {"who": "alice"},
    ):
        response = await api.get("/admin/audit", params=params)
        assert response.status_code == 400, params
    far = await api.get("/admin/audit", params={"cursor": "9" * 19})
    assert far.status_code == 200 and far.json()["total"] == 5


async def test_a_drift_decision_and_a_mapping_change_are_recorded_without_notes(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    prop, [chosen, _], drift_id = await _look_alike(db)
    note = "Mrs Hopper rang, +44 20 7946 0000"
    decided = await api.post(
        _url(drift_id), json={"decision": "link", "reservation_id": str(chosen), "note": note}
    )
    assert decided.status_code == 200, decided.text
    mapped = await api.put(f"/admin/properties/{prop}/mappings", json={"mappings": []})
    assert mapped.status_code == 200, mapped.text
    records = (await api.get("/admin/audit")).json()["records"]
    assert [(r["action"], r["outcome"]) for r in records] == [
        ("property.mappings.replace", "success"),
        ("drift.decide", "success"),
    ]
    drift = records[1]
    assert drift["property_id"] == str(prop) and drift["subject"] == f"drift {drift_id}"
    assert drift["detail"] == {"decision": "link", "kind": "possible_match"}
    assert records[0]["property_id"] == str(prop)
    async with db.acquire() as conn:
        stored = [dict(r) for r in await conn.fetch("SELECT * FROM audit_log")]
    assert "Hopper" not in str(stored) and "7946" not in str(stored)
