"""Topology, publisher, consumer outcomes and relay against the real RabbitMQ and Postgres."""

from __future__ import annotations

import asyncio
from uuid import UUID

import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection
from channel_sync.amqp.consumer import EventConsumer
from channel_sync.amqp.publisher import Publisher, PublishFailed
from channel_sync.amqp.topology import INBOUND, OUTBOUND, declare_topology, delay_tiers_ms
from channel_sync.errors import PermanentError, TransientError
from channel_sync.events import Direction, EventMessage, EventStatus
from channel_sync.relay import Relay
from channel_sync.repository import ChannelEventRepository
from channel_sync_testing.factories import new_event
from channel_sync_testing.waiting import wait_for

from conftest import TEST_RETRY_DELAYS_MS

from .factories import insert_property

repo = ChannelEventRepository()


async def _queue_depth(connection: AbstractRobustConnection, name: str) -> int:
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(name, passive=True)
        return int(queue.declaration_result.message_count or 0)
    finally:
        await channel.close()


async def _drain(connection: AbstractRobustConnection, name: str) -> list[bytes]:
    channel = await connection.channel()
    queue = await channel.get_queue(name)
    bodies = []
    while (message := await queue.get(fail=False, no_ack=True)) is not None:
        bodies.append(message.body)
    await channel.close()
    return bodies


async def _status(db: asyncpg.Pool, event_id: UUID) -> EventStatus | None:
    async with db.acquire() as conn:
        event = await repo.get(conn, event_id)
    return None if event is None else event.status


async def test_topology_declares_twice_with_dead_lettering(
    amqp_connection: AbstractRobustConnection,
) -> None:
    channel = await amqp_connection.channel()
    await declare_topology(channel, TEST_RETRY_DELAYS_MS)
    await declare_topology(channel, TEST_RETRY_DELAYS_MS)
    for work in (INBOUND, OUTBOUND):
        await channel.declare_queue(work.dlq, passive=True)
        for delay in delay_tiers_ms(TEST_RETRY_DELAYS_MS):
            await channel.declare_queue(work.retry_queue(delay), passive=True)
    await channel.close()


async def test_publish_routes_by_key_and_unroutable_raises(
    amqp_connection: AbstractRobustConnection,
) -> None:
    await _drain(amqp_connection, INBOUND.name)
    publisher = await Publisher.open(amqp_connection)
    await publisher.publish("beds24.booking.modified", b'{"probe": 1}')
    with pytest.raises(PublishFailed):
        await publisher.publish("nobody.listens.here", b"{}")
    bodies = await wait_for(lambda: _drain(amqp_connection, INBOUND.name), what="routed message")
    assert bodies == [b'{"probe": 1}']
    await publisher.close()


async def test_publish_events_confirms_each_and_names_those_not_routed(
    amqp_connection: AbstractRobustConnection,
) -> None:
    await _drain(amqp_connection, INBOUND.name)
    publisher = await Publisher.open(amqp_connection)
    prop = UUID(int=7)
    messages = [
        EventMessage(
            event_id=UUID(int=n),
            event_type="nobody.listens.here" if n == 3 else "beds24.booking.modified",
            direction=Direction.INBOUND,
            property_id=prop,
            correlation_id=f"c{n}",
        )
        for n in range(1, 6)
    ]

    reasons = await publisher.publish_events(messages)

    assert [r is None for r in reasons] == [True, True, False, True, True]
    assert isinstance(reasons[2], PublishFailed) and "returned" in str(reasons[2])
    bodies: list[bytes] = []

    async def four_routed() -> bool:
        bodies.extend(await _drain(amqp_connection, INBOUND.name))
        return len(bodies) >= 4

    await wait_for(four_routed, what="4 routed messages")
    received = [EventMessage.model_validate_json(b) for b in bodies]
    assert [m.event_id.int for m in received] == [1, 2, 4, 5]  # in publishing order
    assert {m.correlation_id for m in received} == {"c1", "c2", "c4", "c5"}
    assert await publisher.publish_events([]) == []
    await publisher.close()


async def test_publish_events_in_rounds_leaves_no_bookkeeping_behind_and_properties_set(
    amqp_connection: AbstractRobustConnection,
) -> None:
    """The batched write books each message as aiormq's own publish does: after rounds of
    hundreds (concurrent rounds included) every confirm was matched and nothing is left in the
    channel's confirmation or return tables; the messages carry their id and correlation id
    as AMQP properties. Fails if aiormq changes the channel attributes the batch relies on."""
    await _drain(amqp_connection, INBOUND.name)
    publisher = await Publisher.open(amqp_connection)
    prop = UUID(int=8)

    def round_of(start: int, count: int) -> list[EventMessage]:
        return [
            EventMessage(
                event_id=UUID(int=n),
                event_type="beds24.booking.modified",
                direction=Direction.INBOUND,
                property_id=prop,
                correlation_id=f"r{n}",
            )
            for n in range(start, start + count)
        ]

    rounds = await asyncio.gather(
        *(publisher.publish_events(round_of(k * 1000, 300)) for k in range(3))
    )
    assert all(reason is None for reasons in rounds for reason in reasons)
    raw = await publisher._channel.get_underlay_channel()  # the bookkeeping
    assert dict(raw.confirmations) == {}  # type: ignore[attr-defined]
    assert raw.message_id_delivery_tag == {}  # type: ignore[attr-defined]
    assert raw.delivery_tag == 900  # type: ignore[attr-defined]

    channel = await amqp_connection.channel()
    queue = await channel.get_queue(INBOUND.name)
    first = await queue.get(timeout=5)
    assert first.message_id is not None and UUID(first.message_id).int % 1000 < 300
    assert first.correlation_id == f"r{UUID(first.message_id).int}"
    assert first.delivery_mode == 2 and first.content_type == "application/json"
    await first.ack()
    await channel.close()
    assert await _drain(amqp_connection, INBOUND.name) != []
    await publisher.close()


async def test_publish_events_on_a_closed_channel_fails_each_with_a_reason(
    amqp_connection: AbstractRobustConnection,
) -> None:
    publisher = await Publisher.open(amqp_connection)
    raw = await publisher._channel.get_underlay_channel()  # closed under it
    await raw.close()
    message = EventMessage(
        event_id=UUID(int=9),
        event_type="beds24.booking.modified",
        direction=Direction.INBOUND,
        property_id=UUID(int=9),
    )
    reasons = await publisher.publish_events([message, message])
    assert all(isinstance(r, PublishFailed) and "unavailable" in str(r) for r in reasons)


async def _run_consumer(
    amqp_connection: AbstractRobustConnection,
    db: asyncpg.Pool,
    handler,
    max_attempts: int = 3,
    consumer_pool: asyncpg.Pool | None = None,
):  # type: ignore[no-untyped-def]
    publisher = await Publisher.open(amqp_connection)
    channel = await amqp_connection.channel()
    consumer = EventConsumer(
        channel=channel,
        work_queue=INBOUND,
        pool=consumer_pool or db,
        publisher=publisher,
        handler=handler,
        retry_delays_ms=TEST_RETRY_DELAYS_MS,
        prefetch=5,
    )
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        event = await repo.create(conn, new_event(prop, max_attempts=max_attempts))
    assert event is not None
    await publisher.publish_event(EventMessage.for_event(event), event.event_type)
    await consumer.start()
    return consumer, publisher, event


async def test_message_exhausting_attempts_lands_in_dlq(
    amqp_connection: AbstractRobustConnection, db: asyncpg.Pool
) -> None:
    await _drain(amqp_connection, INBOUND.dlq)
    calls: list[UUID] = []

    async def always_down(message: EventMessage) -> None:
        calls.append(message.event_id)
        raise TransientError("Beds24 unreachable")

    consumer, publisher, event = await _run_consumer(amqp_connection, db, always_down)
    try:
        await wait_for(lambda: _status(db, event.id), what="status", timeout=10)
        await wait_for(
            lambda: _is(db, event.id, EventStatus.FAILED), timeout=10, what="event failed"
        )
        dead = await wait_for(lambda: _drain(amqp_connection, INBOUND.dlq), what="DLQ message")
    finally:
        await consumer.stop()
        await publisher.close()
    assert len(calls) == 3  # one delivery, two delayed retries
    assert [EventMessage.model_validate_json(b).event_id for b in dead] == [event.id]
    async with db.acquire() as conn:
        final = await repo.get(conn, event.id)
    assert final and final.attempts == 3 and final.last_error == "Beds24 unreachable"


async def test_permanent_error_fails_at_once(
    amqp_connection: AbstractRobustConnection, db: asyncpg.Pool
) -> None:
    await _drain(amqp_connection, INBOUND.dlq)
    calls = 0

    async def invalid(message: EventMessage) -> None:
        nonlocal calls
        calls += 1
        raise PermanentError("room 99 is not mapped to a PMS room")

    consumer, publisher, event = await _run_consumer(amqp_connection, db, invalid)
    try:
        await wait_for(lambda: _is(db, event.id, EventStatus.FAILED), what="event failed")
        await wait_for(lambda: _drain(amqp_connection, INBOUND.dlq), what="DLQ message")
    finally:
        await consumer.stop()
        await publisher.close()
    assert calls == 1


async def test_transient_then_success_is_retried_after_a_delay(
    amqp_connection: AbstractRobustConnection, db: asyncpg.Pool
) -> None:
    calls = 0

    async def flaky(message: EventMessage) -> None:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise TransientError("HTTP 500 from Beds24")
        async with db.acquire() as conn:
            await repo.mark_done(conn, message.event_id)

    consumer, publisher, event = await _run_consumer(amqp_connection, db, flaky)
    try:
        await wait_for(lambda: _is(db, event.id, EventStatus.DONE), what="event done")
    finally:
        await consumer.stop()
        await publisher.close()
    assert calls == 3


async def test_relay_publishes_received_rows_and_marks_them_processing(
    amqp_connection: AbstractRobustConnection, db: asyncpg.Pool
) -> None:
    await _drain(amqp_connection, OUTBOUND.name)
    publisher = await Publisher.open(amqp_connection)
    relay = Relay(pool=db, publisher=publisher, direction=Direction.OUTBOUND, poll_interval_s=5)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        async with db.acquire() as conn:
            prop = await insert_property(conn)
            event = await repo.create(
                conn,
                new_event(prop, direction=Direction.OUTBOUND, event_type="pms.booking.create"),
            )
        assert event
        # Woken by NOTIFY: well before the 5 s poll.
        await wait_for(lambda: _is(db, event.id, EventStatus.PROCESSING), timeout=3, what="relayed")
        bodies = await wait_for(lambda: _drain(amqp_connection, OUTBOUND.name), what="message")
    finally:
        stop.set()
        await task
        await publisher.close()
    assert [EventMessage.model_validate_json(b).event_id for b in bodies] == [event.id]


async def _is(db: asyncpg.Pool, event_id: UUID, status: EventStatus) -> bool:
    return await _status(db, event_id) is status


async def test_duplicate_failing_after_its_twin_is_done_keeps_done(
    amqp_connection: AbstractRobustConnection, db: asyncpg.Pool
) -> None:
    await _drain(amqp_connection, INBOUND.dlq)
    calls = 0

    async def applied_by_twin_then_invalid(message: EventMessage) -> None:
        nonlocal calls
        calls += 1
        async with db.acquire() as conn:
            await repo.mark_done(conn, message.event_id)  # the twin delivery's commit
        raise PermanentError("room 99 is not mapped")

    consumer, publisher, event = await _run_consumer(
        amqp_connection, db, applied_by_twin_then_invalid
    )
    try:
        await wait_for(lambda: _settled(amqp_connection, calls), what="message settled")
    finally:
        await consumer.stop()
        await publisher.close()
    assert await _status(db, event.id) is EventStatus.DONE
    assert await _drain(amqp_connection, INBOUND.dlq) == []


async def _settled(connection: AbstractRobustConnection, calls: int) -> bool:
    return calls >= 1 and await _queue_depth(connection, INBOUND.name) == 0


async def test_outcome_that_cannot_be_stored_is_retried_not_left_unacked(
    amqp_connection: AbstractRobustConnection, db: asyncpg.Pool, database_url: str
) -> None:
    """With the database gone at the moment the outcome is stored, the message must come
    back (delayed retry) instead of holding its prefetch slot until the consumer timeout."""
    from channel_sync.db import create_pool

    doomed_pool = await create_pool(database_url, min_size=1, max_size=2)
    calls = 0

    async def fails_while_the_database_goes_away(message: EventMessage) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await doomed_pool.close()
            raise PermanentError("invalid booking")

    consumer, publisher, _ = await _run_consumer(
        amqp_connection, db, fails_while_the_database_goes_away, consumer_pool=doomed_pool
    )
    try:
        await wait_for(_calls_reach(lambda: calls, 2), timeout=10, what="redelivery")
    finally:
        await consumer.stop()
        await publisher.close()


def _calls_reach(count, wanted: int):  # type: ignore[no-untyped-def]
    async def probe() -> bool:
        return bool(count() >= wanted)

    return probe


def test_the_publisher_refuses_an_aiormq_it_was_not_written_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from channel_sync.amqp import publisher

    publisher.check_versions()  # the locked releases pass
    monkeypatch.setitem(publisher.WRITTEN_FOR, "aiormq", (6, 8))
    with pytest.raises(publisher.IncompatibleLibrary, match=r"aiormq~=6\.8"):
        publisher.check_versions()


async def test_the_publisher_refuses_a_channel_without_what_it_uses() -> None:
    from channel_sync.amqp import publisher

    with pytest.raises(publisher.IncompatibleLibrary, match="not aiormq's"):
        publisher.check_internals(object())
