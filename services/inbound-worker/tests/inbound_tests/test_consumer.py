"""The handler behind the real consumer on real RabbitMQ: a worker dying between commit and
ack, permanent failures to the DLQ with their reason, transient ones retried with delays."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection
from channel_sync.amqp.connection import connect
from channel_sync.amqp.consumer import EventConsumer
from channel_sync.amqp.publisher import Publisher
from channel_sync.amqp.topology import INBOUND
from channel_sync.errors import PermanentError, TransientError
from channel_sync.events import ChannelEvent, EventMessage
from channel_sync_testing.waiting import wait_for
from inbound_worker import handler as handler_module
from inbound_worker.booking import Booking
from inbound_worker.handler import InboundHandler

from conftest import TEST_RETRY_DELAYS_MS

from .support import Hotel, NoBeds24, booking, event_row, reservations, store_event

Handler = Callable[[EventMessage], Awaitable[None]]


@pytest.fixture
async def empty_queues(amqp_connection: AbstractRobustConnection) -> None:
    """Messages other tests of this session left behind would only add noise."""
    channel = await amqp_connection.channel()
    for name in (INBOUND.name, INBOUND.dlq):
        await (await channel.get_queue(name)).purge()
    await channel.close()


@asynccontextmanager
async def consuming(
    amqp_url: str, db: asyncpg.Pool, handler: Handler
) -> AsyncIterator[tuple[AbstractRobustConnection, EventConsumer]]:
    """A consumer of beds24.inbound on a connection of its own (so it can 'die' alone)."""
    connection = await connect(amqp_url, client_name="test-inbound-consumer")
    publisher = await Publisher.open(connection)
    consumer = EventConsumer(
        channel=await connection.channel(),
        work_queue=INBOUND,
        pool=db,
        publisher=publisher,
        handler=handler,
        retry_delays_ms=TEST_RETRY_DELAYS_MS,
        prefetch=5,
    )
    await consumer.start()
    try:
        yield connection, consumer
    finally:
        if not connection.is_closed:
            await consumer.stop(drain_timeout_s=1)
            await connection.close()


async def publish(amqp_connection: AbstractRobustConnection, event: ChannelEvent) -> None:
    publisher = await Publisher.open(amqp_connection)
    await publisher.publish_event(EventMessage.for_event(event), event.event_type)
    await publisher.close()


async def dead_lettered(amqp_connection: AbstractRobustConnection) -> list[UUID]:
    channel = await amqp_connection.channel()
    queue = await channel.get_queue(INBOUND.dlq)
    ids = []
    while (message := await queue.get(fail=False, no_ack=True)) is not None:
        ids.append(EventMessage.model_validate_json(message.body).event_id)
    await channel.close()
    return ids


async def test_a_worker_killed_between_commit_and_ack_leaves_one_reservation(
    amqp_url: str,
    amqp_connection: AbstractRobustConnection,
    db: asyncpg.Pool,
    hotel: Hotel,
    empty_queues: None,
) -> None:
    real = InboundHandler(db, NoBeds24())
    applied = asyncio.Event()
    calls: list[str] = []
    stuck: list[asyncio.Task[Any]] = []

    async def dies_before_ack(message: EventMessage) -> None:
        await real(message)  # committed: reservation written, event done
        calls.append("first worker")
        stuck.append(asyncio.current_task())  # type: ignore[arg-type]
        applied.set()
        await asyncio.Event().wait()  # never acks: the process is about to die

    async def second_worker(message: EventMessage) -> None:
        calls.append("second worker")
        await real(message)

    event = await store_event(db, hotel.property_id, booking(81001))
    async with consuming(amqp_url, db, dies_before_ack) as (doomed, _):
        await publish(amqp_connection, event)
        await asyncio.wait_for(applied.wait(), 10)
        await doomed.close()  # the broker sees the connection drop with the message unacked
        stuck[0].cancel()

        async with consuming(amqp_url, db, second_worker):
            await wait_for(
                lambda: _async(calls == ["first worker", "second worker"]), what="the redelivery"
            )

    assert await _ready_messages(amqp_connection) == 0  # the redelivery was acked
    assert len(await reservations(db)) == 1
    row = await event_row(db, event.id)
    assert (row["status"], row["attempts"], row["outcome_note"]) == ("done", 0, "created")


async def test_a_permanent_failure_ends_failed_with_its_reason_in_the_dlq(
    amqp_url: str,
    amqp_connection: AbstractRobustConnection,
    db: asyncpg.Pool,
    hotel: Hotel,
    empty_queues: None,
) -> None:
    event = await store_event(db, hotel.property_id, booking(81002, propertyId=777))
    async with consuming(amqp_url, db, InboundHandler(db, NoBeds24())):
        await publish(amqp_connection, event)
        row = await wait_for(lambda: _status(db, event.id, "failed"), what="failed event")

    assert row["last_error"] == (
        "Beds24 booking 81002 belongs to Beds24 property 777, but "
        "this PMS property is linked to 515151"
    )
    assert row["attempts"] == 0  # no pointless retries
    assert await wait_for(lambda: dead_lettered(amqp_connection), what="DLQ") == [event.id]
    assert await reservations(db) == []


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"numAdult": 2**63}, "numAdult 9223372036854775808 is more than the PMS can hold"),
        ({"numChild": 2**31}, "numChild 2147483648 is more than the PMS can hold"),
        ({"roomId": -5}, "roomId is not an id"),
        ({"unitId": 2**63}, "unitId is not an id"),
        ({"price": 1e12}, "price is out of range"),
        ({"modifiedTime": "9999-12-31T23:59:59-01:00"}, "modifiedTime"),
        ({"lastName": "Hop\ud800per"}, "lastName holds a NUL or an invalid character"),
    ],
    ids=["adults-2^63", "children-2^31", "negative-room", "unit-2^63", "price", "time", "text"],
)
async def test_content_the_pms_cannot_hold_fails_at_once_with_its_reason(
    amqp_url: str,
    amqp_connection: AbstractRobustConnection,
    db: asyncpg.Pool,
    hotel: Hotel,
    empty_queues: None,
    fields: dict[str, Any],
    reason: str,
) -> None:
    """Stored before validation existed, or by the poller: failed once, never retried."""
    raw = booking(81010, **fields)
    payload = {"booking": raw, "retries": 0}
    if "lastName" in fields:  # jsonb cannot hold a lone surrogate; the fetched booking can
        beds24 = _Answers(raw)
        event = await store_event(
            db, hotel.property_id, payload={"v1": {"bookid": 81010}}, key="v1:81010"
        )
    else:
        beds24, event = NoBeds24(), await store_event(db, hotel.property_id, raw, payload=payload)
    async with consuming(amqp_url, db, InboundHandler(db, beds24)):
        await publish(amqp_connection, event)
        row = await wait_for(lambda: _status(db, event.id, "failed"), what="failed event")

    assert reason in row["last_error"]
    assert row["last_error"].startswith("Beds24 booking")
    assert row["attempts"] == 0  # nothing that cannot succeed is retried
    assert "Hop" not in row["last_error"]  # the reason names the field, not its value
    assert await wait_for(lambda: dead_lettered(amqp_connection), what="DLQ") == [event.id]
    assert await reservations(db) == []


async def test_a_value_postgres_refuses_fails_permanently_without_quoting_it(
    db: asyncpg.Pool, hotel: Hotel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The net under read_booking's checks: were one missed, Postgres's refusal (here, an
    INTEGER overflow) is permanent, and its text, which quotes the value, is left out."""
    checked = handler_module.read_booking

    def one_check_missed(raw: dict[str, Any]) -> Booking:
        found = checked(raw)
        return replace(found, columns={**found.columns, "adults": 2**40})

    monkeypatch.setattr(handler_module, "read_booking", one_check_missed)
    event = await store_event(db, hotel.property_id, booking(81020))

    with pytest.raises(PermanentError) as failed:
        await InboundHandler(db, NoBeds24())(EventMessage.for_event(event))

    assert "the PMS cannot hold a value of this booking" in str(failed.value)
    assert str(2**40) not in str(failed.value)
    assert await reservations(db) == []


class _Answers:
    """Beds24 answering one fixed booking."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw

    async def fetch_booking(self, property_id: UUID, booking_id: int) -> dict[str, Any]:
        return self._raw


class FlakyBeds24:
    """Our own fetch port failing transiently `failures` times, then answering."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def fetch_booking(self, property_id: UUID, booking_id: int) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.failures:
            raise TransientError("Beds24 answered 503")
        return booking(booking_id)


async def test_transient_failures_retry_with_delays_then_apply(
    amqp_url: str,
    amqp_connection: AbstractRobustConnection,
    db: asyncpg.Pool,
    hotel: Hotel,
    empty_queues: None,
) -> None:
    beds24 = FlakyBeds24(failures=2)
    event = await store_event(
        db, hotel.property_id, payload={"v1": {"bookid": 81003}}, key="v1:81003"
    )
    async with consuming(amqp_url, db, InboundHandler(db, beds24)):
        await publish(amqp_connection, event)
        row = await wait_for(lambda: _status(db, event.id, "done"), what="applied event")

    assert beds24.calls == 3
    assert row["attempts"] == 2 and row["last_error"] == "Beds24 answered 503"
    [r] = await reservations(db)
    assert r["beds24_booking_id"] == 81003


async def test_transient_failures_past_max_attempts_end_failed_in_the_dlq(
    amqp_url: str,
    amqp_connection: AbstractRobustConnection,
    db: asyncpg.Pool,
    hotel: Hotel,
    empty_queues: None,
) -> None:
    beds24 = FlakyBeds24(failures=100)
    event = await store_event(
        db, hotel.property_id, payload={"v1": {"bookid": 81004}}, key="v1:81004", max_attempts=3
    )
    async with consuming(amqp_url, db, InboundHandler(db, beds24)):
        await publish(amqp_connection, event)
        row = await wait_for(lambda: _status(db, event.id, "failed"), what="failed event")

    assert (row["attempts"], row["last_error"]) == (3, "Beds24 answered 503")
    assert beds24.calls == 3
    assert await wait_for(lambda: dead_lettered(amqp_connection), what="DLQ") == [event.id]


async def _status(db: asyncpg.Pool, event_id: UUID, status: str) -> asyncpg.Record | None:
    row = await event_row(db, event_id)
    return row if row["status"] == status else None


async def _ready_messages(connection: AbstractRobustConnection) -> int:
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(INBOUND.name, passive=True)
        return int(queue.declaration_result.message_count or 0)
    finally:
        await channel.close()


async def _async(value: bool) -> bool:
    return value
