"""The one "publish, then mark" step every producer of stored events takes (the gateway
after its group commit, the relay, an operator's retry).

`publish_all` publishes the events in one round of broker confirms
(`EventPublisher.publish_events`); `mark` then records,
in the caller's connection, which were published (`received` -> `processing`) and, if asked,
hands the others to the relay now. An event whose publish failed stays `received`: the relay
publishes it later, so a failure here is never lost work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from channel_sync.amqp.publisher import EventPublisher
from channel_sync.db import Connection
from channel_sync.events import ChannelEvent, EventMessage
from channel_sync.repository import ChannelEventRepository

_events = ChannelEventRepository()


@dataclass(frozen=True)
class PublishRound:
    published: list[UUID]
    failed: list[tuple[UUID, BaseException]]  # each event's id with why


async def publish_all(
    publisher: EventPublisher, events: Sequence[ChannelEvent | EventMessage]
) -> PublishRound:
    """Stored events (or the messages of events just stored) in one round of confirms."""
    messages = [e if isinstance(e, EventMessage) else EventMessage.for_event(e) for e in events]
    reasons = await publisher.publish_events(messages)
    return PublishRound(
        [m.event_id for m, r in zip(messages, reasons, strict=True) if r is None],
        [(m.event_id, r) for m, r in zip(messages, reasons, strict=True) if r is not None],
    )


async def mark(conn: Connection, round_: PublishRound, *, hand_to_relay: bool) -> None:
    """`hand_to_relay`: the failed ones are due for the relay now (not after their hold)."""
    await _events.mark_published(conn, round_.published)
    if hand_to_relay and round_.failed:
        await _events.defer_publish_many(conn, [event_id for event_id, _ in round_.failed])
