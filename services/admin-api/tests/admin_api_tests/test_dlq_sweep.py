"""POST /admin/dlq/sweep: dead letters of retried, done or vanished events are dropped; those
of still failed events, and unreadable ones, stay."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
from aio_pika.abc import AbstractConnection
from channel_sync.amqp.publisher import Publisher
from channel_sync.amqp.topology import INBOUND, OUTBOUND
from channel_sync.events import Direction, EventMessage, EventStatus

from .amqp_helpers import drain
from .factories import insert_event, insert_property


async def _dead_letter(publisher: Publisher, queue: str, body: bytes) -> None:
    await publisher.publish(queue, body, to_queue=True)


def _body(event_id: uuid.UUID, prop: uuid.UUID) -> bytes:
    message = EventMessage(
        event_id=event_id,
        event_type="pms.booking.create",
        direction=Direction.OUTBOUND,
        property_id=prop,
    )
    return message.model_dump_json().encode()


async def test_sweep_keeps_only_what_still_needs_attention(
    api: httpx.AsyncClient, db: asyncpg.Pool, amqp_connection: AbstractConnection
) -> None:
    for queue in (INBOUND.dlq, OUTBOUND.dlq):
        await drain(amqp_connection, queue)
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        failed = await insert_event(conn, prop, status=EventStatus.FAILED)
        retried = await insert_event(conn, prop, status=EventStatus.PROCESSING)
        done = await insert_event(conn, prop, status=EventStatus.DONE)
        inbound_failed = await insert_event(
            conn, prop, status=EventStatus.FAILED, direction=Direction.INBOUND
        )
    publisher = await Publisher.open(amqp_connection)
    try:
        for event_id in (failed.id, retried.id, done.id, uuid.uuid4()):
            await _dead_letter(publisher, OUTBOUND.dlq, _body(event_id, prop))
        await _dead_letter(publisher, OUTBOUND.dlq, b"not json")
        await _dead_letter(publisher, INBOUND.dlq, _body(inbound_failed.id, prop))
    finally:
        await publisher.close()

    response = await api.post("/admin/dlq/sweep")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "queues": {
            INBOUND.dlq: {"removed": 0, "kept": 1},
            OUTBOUND.dlq: {"removed": 3, "kept": 2},
        }
    }
    stats = (await api.get("/admin/stats")).json()
    assert stats["dlq"] == {INBOUND.dlq: 1, OUTBOUND.dlq: 2}
    again = (await api.post("/admin/dlq/sweep")).json()
    assert again["queues"][OUTBOUND.dlq] == {"removed": 0, "kept": 2}

    channel = await amqp_connection.channel()
    queue = await channel.get_queue(OUTBOUND.dlq)
    bodies = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        bodies.append(message.body)
    await channel.close()
    assert sorted(bodies) == sorted([_body(failed.id, prop), b"not json"])
    await drain(amqp_connection, INBOUND.dlq)


async def test_sweep_limit(
    api: httpx.AsyncClient, db: asyncpg.Pool, amqp_connection: AbstractConnection
) -> None:
    await drain(amqp_connection, OUTBOUND.dlq)
    async with db.acquire() as conn:
        prop = await insert_property(conn)
    publisher = await Publisher.open(amqp_connection)
    for _ in range(5):
        await _dead_letter(publisher, OUTBOUND.dlq, _body(uuid.uuid4(), prop))
    await publisher.close()
    first = (await api.post("/admin/dlq/sweep", params={"limit": "3"})).json()
    assert first["queues"][OUTBOUND.dlq] == {"removed": 3, "kept": 0}
    rest = (await api.post("/admin/dlq/sweep")).json()
    assert rest["queues"][OUTBOUND.dlq] == {"removed": 2, "kept": 0}
    assert (await api.post("/admin/dlq/sweep", params={"limit": "0"})).status_code == 400
