"""Reading what the admin-api published, straight from the session's RabbitMQ vhost."""

from __future__ import annotations

import json

from aio_pika.abc import AbstractConnection
from channel_sync_testing.waiting import wait_for


async def drain(connection: AbstractConnection, queue_name: str) -> list[str]:
    """Take every message now in the queue; returns their event ids."""
    channel = await connection.channel()
    try:
        queue = await channel.get_queue(queue_name, ensure=False)
        ids = []
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            ids.append(json.loads(message.body)["event_id"])
        return ids
    finally:
        await channel.close()


async def wait_for_messages(
    connection: AbstractConnection, queue_name: str, expected: set[str]
) -> list[str]:
    """Drain until every expected event id was seen; returns all ids seen (with repeats)."""
    seen: list[str] = []

    async def probe() -> bool:
        seen.extend(await drain(connection, queue_name))
        return expected <= set(seen)

    await wait_for(probe, timeout=10, what=f"messages on {queue_name}")
    return seen
