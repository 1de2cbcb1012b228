"""DLQ sweep: drop dead letters whose events no longer need them.

A dead-lettered message stays in its DLQ after the operator retries the event, so the DLQ
depth would keep counting events that are done. The sweep takes up to `limit` messages,
drops those whose event is no longer a dead letter (retried, done, resolved by an operator,
or gone), and puts the rest
back (as fresh copies, so a quorum queue's delivery limit never discards one). Messages that
name no event are kept for a human to look at. The `channel_events` row stays the source of
truth either way: the sweep only tidies the queue.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from aio_pika import Message
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage

logger = logging.getLogger(__name__)

StillFailed = Callable[[list[UUID]], Awaitable[set[UUID]]]


@dataclass(frozen=True)
class Swept:
    removed: int
    kept: int


async def sweep(
    connection: AbstractConnection, queue_name: str, still_failed: StillFailed, *, limit: int
) -> Swept:
    channel = await connection.channel(publisher_confirms=True)
    try:
        queue = await channel.declare_queue(queue_name, passive=True)
        held: list[AbstractIncomingMessage] = []
        # Held messages stay unacknowledged, so `get` never hands the same one out twice.
        while len(held) < limit and (message := await queue.get(fail=False)) is not None:
            held.append(message)
        ids = {m.delivery_tag: _event_id(m) for m in held}
        failed = await still_failed([i for i in ids.values() if i is not None])
        removed = 0
        for message in held:
            event_id = ids[message.delivery_tag]
            if event_id is not None and event_id not in failed:
                removed += 1
            else:
                await channel.default_exchange.publish(_copy(message), routing_key=queue_name)
            await message.ack()
    finally:
        await channel.close()  # anything not acknowledged goes back to the queue
    if removed:
        logger.info("swept %d dead letter(s) from %s", removed, queue_name)
    return Swept(removed=removed, kept=len(held) - removed)


def _event_id(message: AbstractIncomingMessage) -> UUID | None:
    try:
        return UUID(str(json.loads(message.body)["event_id"]))
    except (ValueError, KeyError, TypeError):
        return None


def _copy(message: AbstractIncomingMessage) -> Message:
    return Message(
        message.body,
        headers=dict(message.headers or {}),
        content_type=message.content_type,
        delivery_mode=message.delivery_mode,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
    )
