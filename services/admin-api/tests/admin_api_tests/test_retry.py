"""POST /admin/events/{id}/retry and POST /admin/events/retry."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
from aio_pika.abc import AbstractConnection
from channel_sync.amqp.topology import INBOUND, OUTBOUND
from channel_sync.events import Direction, EventStatus
from channel_sync.repository import ChannelEventRepository

from .amqp_helpers import drain, wait_for_messages
from .factories import insert_event, insert_property

repo = ChannelEventRepository()


async def _row(db: asyncpg.Pool, event_id: uuid.UUID) -> asyncpg.Record:
    async with db.acquire() as conn:
        row = await conn.fetchrow(
            """SELECT status, attempts, processed_at, published_at,
                      next_attempt_at > now() AS held FROM channel_events WHERE id = $1""",
            event_id,
        )
    assert row is not None
    return row


async def test_retry_resets_and_republishes_a_failed_event(
    api: httpx.AsyncClient, db: asyncpg.Pool, amqp_connection: AbstractConnection
) -> None:
    await drain(amqp_connection, OUTBOUND.name)
    async with db.acquire() as conn:
        event = await insert_event(
            conn,
            await insert_property(conn),
            status=EventStatus.FAILED,
            attempts=3,
            last_error="Beds24 unavailable: HTTP 500",
        )
    response = await api.post(f"/admin/events/{event.id}/retry")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["published"] is True and body["replay"] is False
    assert body["event"]["attempts"] == 0 and body["event"]["status"] == "received"
    row = await _row(db, event.id)
    # Published by the admin-api itself: handed on as `processing`, attempts back to 0.
    assert row["status"] == "processing" and row["attempts"] == 0
    assert row["published_at"] is not None and row["processed_at"] is None
    seen = await wait_for_messages(amqp_connection, OUTBOUND.name, {str(event.id)})
    assert seen.count(str(event.id)) == 1


async def test_retry_routes_inbound_events_to_the_inbound_queue(
    api: httpx.AsyncClient, db: asyncpg.Pool, amqp_connection: AbstractConnection
) -> None:
    await drain(amqp_connection, INBOUND.name)
    async with db.acquire() as conn:
        event = await insert_event(
            conn,
            await insert_property(conn),
            status=EventStatus.FAILED,
            direction=Direction.INBOUND,
        )
    assert (await api.post(f"/admin/events/{event.id}/retry")).status_code == 202
    await wait_for_messages(amqp_connection, INBOUND.name, {str(event.id)})


async def test_events_in_flight_are_not_retried(api: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        received = await insert_event(conn, prop, status=EventStatus.RECEIVED)
        processing = await insert_event(conn, prop, status=EventStatus.PROCESSING, attempts=1)
    for event in (received, processing):
        response = await api.post(f"/admin/events/{event.id}/retry", params={"replay": "true"})
        assert response.status_code == 409
        assert "in flight" in response.json()["error"]
    assert (await _row(db, processing.id))["attempts"] == 1  # untouched


async def test_a_done_event_is_replayed_only_with_the_flag(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        by_query = await insert_event(conn, prop, status=EventStatus.DONE, attempts=1)
        by_body = await insert_event(conn, prop, status=EventStatus.DONE, attempts=1)
    refused = await api.post(f"/admin/events/{by_query.id}/retry")
    assert refused.status_code == 409 and "replay=true" in refused.json()["error"]
    assert (await _row(db, by_query.id))["status"] == "done"
    explicit_no = await api.post(f"/admin/events/{by_body.id}/retry", json={"replay": False})
    assert explicit_no.status_code == 409

    replayed = await api.post(f"/admin/events/{by_query.id}/retry", params={"replay": "true"})
    assert replayed.status_code == 202 and replayed.json()["replay"] is True
    assert (
        await api.post(f"/admin/events/{by_body.id}/retry", json={"replay": True})
    ).status_code == 202
    for event in (by_query, by_body):
        row = await _row(db, event.id)
        assert row["status"] == "processing" and row["attempts"] == 0


async def test_retry_of_unknown_or_malformed_ids_and_bodies(api: httpx.AsyncClient) -> None:
    assert (await api.post(f"/admin/events/{uuid.uuid4()}/retry")).status_code == 404
    assert (await api.post("/admin/events/nope/retry")).status_code == 400
    bad_body = await api.post(f"/admin/events/{uuid.uuid4()}/retry", content=b"{not json")
    assert bad_body.status_code == 400 and "JSON" in bad_body.json()["error"]
    bad_field = await api.post(f"/admin/events/{uuid.uuid4()}/retry", json={"replay": "maybe"})
    assert bad_field.status_code == 400 and "'replay'" in bad_field.json()["error"]
    extra = await api.post(f"/admin/events/{uuid.uuid4()}/retry", json={"force": True})
    assert extra.status_code == 400 and "'force'" in extra.json()["error"]


async def test_bulk_retry_takes_only_matching_failed_events_once(
    api: httpx.AsyncClient, db: asyncpg.Pool, amqp_connection: AbstractConnection
) -> None:
    await drain(amqp_connection, OUTBOUND.name)
    async with db.acquire() as conn:
        one = await insert_property(conn, "One")
        two = await insert_property(conn, "Two")
        targets = [
            await insert_event(conn, one, status=EventStatus.FAILED, attempts=3) for _ in range(12)
        ]
        other_property = await insert_event(conn, two, status=EventStatus.FAILED, attempts=3)
        done = await insert_event(conn, one, status=EventStatus.DONE)
        inbound = await insert_event(
            conn, one, status=EventStatus.FAILED, direction=Direction.INBOUND
        )

    params = {"property_id": str(one), "direction": "outbound"}
    # Two operators pressing the button at once still requeue each event once.
    first, second = await asyncio.gather(
        api.post("/admin/events/retry", params=params),
        api.post("/admin/events/retry", params=params),
    )
    answers = [first.json(), second.json()]
    assert first.status_code == second.status_code == 202
    assert sum(a["requeued"] for a in answers) == 12
    again = (await api.post("/admin/events/retry", params=params)).json()
    assert again == {"requeued": 0, "published": 0, "remaining": 0}

    seen = await wait_for_messages(amqp_connection, OUTBOUND.name, {str(e.id) for e in targets})
    assert sorted(seen) == sorted(str(e.id) for e in targets)  # each exactly once
    async with db.acquire() as conn:
        statuses = dict(await conn.fetch("SELECT id, status FROM channel_events"))
    assert {statuses[e.id] for e in targets} == {"processing"}
    assert statuses[other_property.id] == "failed"
    assert statuses[inbound.id] == "failed"
    assert statuses[done.id] == "done"


async def test_bulk_retry_limit_and_remaining(api: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        for _ in range(5):
            await insert_event(conn, prop, status=EventStatus.FAILED)
    answer = (await api.post("/admin/events/retry", params={"limit": "3"})).json()
    assert answer["requeued"] == 3 and answer["remaining"] == 2


async def test_bulk_retry_refuses_other_statuses_and_unknown_filters(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        event = await insert_event(conn, await insert_property(conn), status=EventStatus.FAILED)
    for params, named in (
        ({"status": "done"}, "status"),
        ({"propertyid": "x"}, "propertyid"),
        ({"limit": "100000"}, "limit"),
    ):
        response = await api.post("/admin/events/retry", params=params)
        assert response.status_code == 400 and f"'{named}'" in response.json()["error"]
    assert (await _row(db, event.id))["status"] == "failed"  # a typo widened nothing
