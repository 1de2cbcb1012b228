"""GET /admin/stats: counts, oldest unfinished event, DLQ depths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from aio_pika.abc import AbstractConnection
from channel_sync.amqp.publisher import Publisher
from channel_sync.amqp.topology import INBOUND, OUTBOUND
from channel_sync.events import Direction, EventStatus

from .factories import insert_event, insert_property


async def _dlq_depths(api: httpx.AsyncClient) -> dict[str, int]:
    body = (await api.get("/admin/stats")).json()
    return body["dlq"]


async def test_counts_and_oldest_unfinished(api: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        for status, n in ((EventStatus.DONE, 3), (EventStatus.FAILED, 2)):
            for _ in range(n):
                await insert_event(conn, prop, status=status)
        await insert_event(
            conn, prop, status=EventStatus.PROCESSING, received_at=now - timedelta(minutes=10)
        )
        await insert_event(
            conn, prop, status=EventStatus.RECEIVED, received_at=now - timedelta(minutes=2)
        )
        await insert_event(
            conn,
            prop,
            status=EventStatus.FAILED,
            direction=Direction.INBOUND,
            received_at=now - timedelta(hours=5),
        )  # failed: not unfinished
    body = (await api.get("/admin/stats")).json()
    assert body["counts"] == {
        "inbound": {"received": 0, "processing": 0, "done": 0, "failed": 1},
        "outbound": {"received": 1, "processing": 1, "done": 3, "failed": 2},
    }
    assert body["oldest_unfinished"]["inbound"] is None
    oldest = body["oldest_unfinished"]["outbound"]
    assert 595 <= oldest["age_s"] <= 660
    assert abs(
        datetime.fromisoformat(oldest["received_at"]) - (now - timedelta(minutes=10))
    ) < timedelta(seconds=1)


async def test_dlq_depths_come_from_the_broker(
    api: httpx.AsyncClient, amqp_connection: AbstractConnection
) -> None:
    before = await _dlq_depths(api)
    assert set(before) == {INBOUND.dlq, OUTBOUND.dlq}
    publisher = await Publisher.open(amqp_connection)
    try:
        for _ in range(2):
            await publisher.publish(OUTBOUND.dlq, b"{}", to_queue=True)
        await publisher.publish(INBOUND.dlq, b"{}", to_queue=True)
    finally:
        await publisher.close()
    after = await _dlq_depths(api)
    assert after[OUTBOUND.dlq] == before[OUTBOUND.dlq] + 2
    assert after[INBOUND.dlq] == before[INBOUND.dlq] + 1
    channel = await amqp_connection.channel()
    for name in (INBOUND.dlq, OUTBOUND.dlq):
        await (await channel.get_queue(name)).purge()
    await channel.close()
    assert await _dlq_depths(api) == {INBOUND.dlq: 0, OUTBOUND.dlq: 0}
