"""The batching consumer never stalls and settles every message exactly once.

A stateful property test drives a BatchingConsumer (its real Subscription, Batcher and
deliver path) with random arrivals, redeliveries of the same event, the passing of time,
credit pauses (its own and another replica's), batches that succeed, fail for some events,
raise, are cancelled from inside, hang past the batch timeout or answer nothing, and stops
and restarts. Messages
and the settler are recorders (the broker's side of a message is three calls: ack, nack,
reject); the pure scheduling rule `next_flush_at` has its own properties.

Time is real but small (milliseconds): every wait in the batcher is bounded, so a stall
shows as messages still unsettled after a deadline, never as a hang of the test.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any
from uuid import UUID, uuid4

import pytest
from aio_pika.abc import AbstractIncomingMessage
from channel_sync.amqp.batching import BatchingConsumer, next_flush_at
from channel_sync.amqp.topology import OUTBOUND
from channel_sync.errors import PermanentError, TransientError
from channel_sync.events import Direction, EventMessage
from channel_sync.progress import WorkProgress
from channel_sync_testing.waiting import wait_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

WINDOW_S = 0.004
BATCH_TIMEOUT_S = 0.05
SETTLE_DEADLINE_S = 3.0


class FakeMessage:
    """The broker's side of one delivery: which settling calls it received."""

    def __init__(self, envelope: EventMessage) -> None:
        self.body = envelope.model_dump_json().encode()
        self.message_id = str(uuid4())
        self.calls: list[str] = []

    @property
    def processed(self) -> bool:
        return bool(self.calls)

    async def ack(self) -> None:
        self.calls.append("ack")

    async def nack(self, requeue: bool = True) -> None:
        self.calls.append("nack" if requeue else "nack-drop")

    async def reject(self, requeue: bool = False) -> None:
        self.calls.append("reject")


class RecordingSettler:
    """Settles as the real settler does at the broker: one call per message."""

    def __init__(self) -> None:
        self.outcomes: dict[str, Exception | None] = {}

    async def settle(
        self, message: AbstractIncomingMessage, envelope: EventMessage, error: Exception | None
    ) -> None:
        self.outcomes[message.message_id or ""] = error
        if isinstance(error, PermanentError):
            await message.reject(requeue=False)
        else:
            await message.ack()


class FakeQueue:
    async def consume(self, callback: Any) -> str:
        return "consumer-tag"

    async def cancel(self, tag: str) -> None:
        return None


class FakeChannel:
    is_closed = False

    async def set_qos(self, prefetch_count: int) -> None:
        return None

    async def get_queue(self, name: str, ensure: bool = True) -> FakeQueue:
        return FakeQueue()


BEHAVIOURS = [
    "ok",
    "some_fail",
    "raise",
    "cancel_inside",
    "hang",
    "no_outcome",
    "not_a_mapping",
    "slow",
]


class BatcherMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop: asyncio.AbstractEventLoop | None = None  # made by `start`, closed in teardown
        self.settler = RecordingSettler()
        self.behaviour = "ok"
        self.pause_s = 0.0
        self.paced_until: dict[str, float] = {}  # a pause another replica recorded, per lane
        self.messages: list[FakeMessage] = []
        self.events: list[UUID] = []
        self.lanes: dict[UUID, int] = {}
        self.deliveries: list[asyncio.Task[None]] = []
        self.batches: list[list[UUID]] = []
        self.consumer: BatchingConsumer | None = None

    @initialize(max_batch=st.integers(1, 8), max_running=st.integers(1, 3))
    def start(self, max_batch: int, max_running: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.consumer = BatchingConsumer(
            batch_handler=self.handle,
            window_s=WINDOW_S,
            max_batch=max_batch,
            channel=FakeChannel(),  # type: ignore[arg-type]
            work_queue=OUTBOUND,
            settler=self.settler,
            pause=self.pause,
            paced=self.paced,
            batch_timeout_s=BATCH_TIMEOUT_S,
            progress=WorkProgress("property-test", stall_after_s=3600),
            lane_of=self.lane_of,
            max_running=max_running,
        )
        self.run(self.consumer.start())

    def run(self, coro: Any) -> Any:
        assert self.loop is not None
        return self.loop.run_until_complete(coro)

    async def pause(self, lane: str) -> float:
        return self.pause_s

    async def paced(self, lane: str) -> float:
        return self.paced_until.get(lane, 0.0) - asyncio.get_running_loop().time()

    async def lane_of(self, envelope: EventMessage) -> str:
        if envelope.property_id == UUID(int=3):
            raise RuntimeError("the lane cannot be read")  # such messages share one lane
        return str(envelope.property_id)

    async def handle(self, batch: list[EventMessage]) -> Mapping[UUID, Exception | None]:
        ids = [m.event_id for m in batch]
        assert len(set(ids)) == len(ids), "an event twice in one batch"
        lanes = {m.property_id for m in batch} - {UUID(int=3)}
        assert len(lanes) <= 1, "two lanes in one batch"
        self.batches.append(ids)
        behaviour = self.behaviour
        if behaviour == "raise":
            raise RuntimeError("the handler broke")
        if behaviour == "cancel_inside":
            inner = asyncio.ensure_future(asyncio.sleep(1))
            inner.cancel()
            await inner  # a CancelledError that is not the batcher's own
        if behaviour == "hang":
            await asyncio.sleep(3600)
        if behaviour == "slow":
            await asyncio.sleep(0.01)
        if behaviour == "no_outcome":
            return {}
        if behaviour == "not_a_mapping":
            return None  # type: ignore[return-value]  # a handler breaking its contract
        if behaviour == "some_fail":
            return {
                event_id: (PermanentError("bad") if n % 3 == 0 else TransientError("later"))
                if n % 2 == 0
                else None
                for n, event_id in enumerate(ids)
            }
        return dict.fromkeys(ids)

    def deliver(self, envelope: EventMessage) -> None:
        assert self.consumer is not None
        message = FakeMessage(envelope)
        self.messages.append(message)
        receive = self.consumer.receive(message)  # type: ignore[arg-type]
        assert self.loop is not None
        self.deliveries.append(self.loop.create_task(receive))

    @rule(count=st.integers(1, 6), lane=st.integers(1, 3))
    def arrive(self, count: int, lane: int) -> None:
        for _ in range(count):
            event_id = uuid4()
            self.events.append(event_id)
            self.lanes[event_id] = lane
            self.deliver(_envelope(event_id, lane))

    @precondition(lambda self: self.events)
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        """The broker hands the same event again (a redelivery, a retry's copy)."""
        event_id = data.draw(st.sampled_from(self.events))
        self.deliver(_envelope(event_id, self.lanes[event_id]))

    @rule(ms=st.integers(0, 30))
    def time_passes(self, ms: int) -> None:
        self.run(asyncio.sleep(ms / 1000))

    @rule(behaviour=st.sampled_from(BEHAVIOURS))
    def next_batches(self, behaviour: str) -> None:
        self.behaviour = behaviour

    @rule(ms=st.integers(0, 20))
    def credit_pause(self, ms: int) -> None:
        self.pause_s = ms / 1000

    @rule(ms=st.integers(0, 20), lane=st.integers(1, 3))
    def another_replica_paces(self, ms: int, lane: int) -> None:
        """A batch of the lane on another replica asked for a pause: held batches go back
        to their lane until it ends, none lost, none settled twice."""
        assert self.loop is not None
        self.paced_until[str(UUID(int=lane))] = self.loop.time() + ms / 1000

    @rule()
    def stop_and_restart(self) -> None:
        assert self.consumer is not None
        self.run(self.consumer.stop(drain_timeout_s=0.2))
        assert all(task.done() for task in self.deliveries), "a delivery outlived the stop"
        self.run(self.consumer.start(FakeChannel()))  # type: ignore[arg-type]

    @invariant()
    def never_settled_twice_and_never_broken(self) -> None:
        for message in self.messages:
            assert len(message.calls) <= 1, message.calls
        if self.consumer is not None:
            assert self.consumer.progress.stalled() is None

    def teardown(self) -> None:
        if self.loop is None:
            return
        try:
            if self.consumer is not None:
                self.behaviour = "ok"
                self.pause_s = 0.0
                self.run(self._until_all_settled())
                self.run(self.consumer.stop(drain_timeout_s=1))
                for message in self.messages:
                    assert len(message.calls) == 1, message.calls
                assert self.consumer.progress.held == 0
        finally:
            self.run(self._cancel_deliveries())
            self.loop.close()

    async def _cancel_deliveries(self) -> None:
        for task in self.deliveries:
            task.cancel()
        await asyncio.gather(*self.deliveries, return_exceptions=True)

    async def _until_all_settled(self) -> None:
        """Without new arrivals every held message is settled within its bounded waits."""
        deadline = asyncio.get_running_loop().time() + SETTLE_DEADLINE_S
        while not all(m.calls for m in self.messages):
            assert asyncio.get_running_loop().time() < deadline, (
                f"stalled: {sum(not m.calls for m in self.messages)} message(s) never settled"
            )
            await asyncio.sleep(0.005)  # sleep-ok: polling a condition under a deadline


def _envelope(event_id: UUID, lane: int = 1) -> EventMessage:
    return EventMessage(
        event_id=event_id,
        event_type="pms.booking.modified",
        direction=Direction.OUTBOUND,
        property_id=UUID(int=lane),
    )


TestBatcherMachine = BatcherMachine.TestCase
TestBatcherMachine.settings = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@given(
    waiting=st.integers(0, 50),
    oldest_at=st.floats(0, 1000),
    not_before=st.floats(0, 1000),
    window_s=st.floats(0, 10),
    max_batch=st.integers(1, 20),
    draining=st.booleans(),
)
def test_whatever_waits_has_a_bounded_flush_time(
    waiting: int,
    oldest_at: float,
    not_before: float,
    window_s: float,
    max_batch: int,
    draining: bool,
) -> None:
    at = next_flush_at(
        waiting=waiting,
        oldest_at=oldest_at,
        not_before=not_before,
        window_s=window_s,
        max_batch=max_batch,
        draining=draining,
    )
    if waiting == 0:
        assert at is None  # the only unbounded wait: nothing waits
        return
    assert at is not None
    assert at <= max(oldest_at + window_s, not_before)
    if draining:
        assert at == float("-inf")
    elif waiting >= max_batch:
        assert at == not_before  # a full batch never waits for the window


async def test_a_batch_loop_that_stops_turns_liveness_red_at_once() -> None:
    consumer, _ = _hanging_consumer(stall_after_s=3600)
    await consumer.start(FakeChannel())  # type: ignore[arg-type]
    try:
        task = consumer._batcher._task
        assert task is not None
        task.cancel()  # the injected fault: the flush loop is gone
        with contextlib.suppress(asyncio.CancelledError):
            await task
        reason = consumer.progress.stalled()
        assert reason is not None and "batch loop ended" in reason
    finally:
        await consumer.stop(drain_timeout_s=0.1)


async def test_held_work_that_does_not_move_turns_liveness_red_within_its_bound() -> None:
    bound_s = 0.3
    consumer, started = _hanging_consumer(stall_after_s=bound_s)
    await consumer.start(FakeChannel())  # type: ignore[arg-type]
    delivery = asyncio.create_task(consumer.receive(FakeMessage(_envelope(uuid4()))))  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(started.wait(), 2)
        assert consumer.progress.stalled() is None  # held, but not yet for the bound
        loop = asyncio.get_running_loop()
        since = loop.time()
        while consumer.progress.stalled() is None:
            assert loop.time() - since < bound_s + 1.0, "liveness stayed green past its bound"
            await asyncio.sleep(0.02)  # sleep-ok: polling a condition under a deadline
        assert loop.time() - since >= bound_s - 0.05
        assert "1 message(s) held" in (consumer.progress.stalled() or "")
    finally:
        await consumer.stop(drain_timeout_s=0.1)
        delivery.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await delivery


async def test_a_known_credit_wait_is_not_a_stall() -> None:
    clock = [0.0]
    progress = WorkProgress("credits", stall_after_s=10, clock=lambda: clock[0])
    token = progress.hold()
    progress.excuse_for(300)  # the budget waits for the window to reset
    clock[0] = 299
    assert progress.stalled() is None
    clock[0] = 301
    assert progress.stalled() is not None
    progress.release(token)
    assert progress.stalled() is None and progress.held == 0


def _hanging_consumer(stall_after_s: float) -> tuple[BatchingConsumer, asyncio.Event]:
    started = asyncio.Event()

    async def hangs(batch: list[EventMessage]) -> Mapping[UUID, Exception | None]:
        started.set()
        await asyncio.sleep(3600)
        return {}

    consumer = BatchingConsumer(
        batch_handler=hangs,
        window_s=0.0,
        max_batch=10,
        channel=FakeChannel(),  # type: ignore[arg-type]
        work_queue=OUTBOUND,
        settler=RecordingSettler(),
        batch_timeout_s=3600,
        progress=WorkProgress("hanging", stall_after_s=stall_after_s),
    )
    return consumer, started


@pytest.mark.parametrize("max_batch", [1, 3])
async def test_the_tail_of_a_burst_is_flushed_without_new_arrivals(max_batch: int) -> None:
    """The stall seen in the field: more messages waiting than one batch takes, all already
    delivered (nothing more will arrive), and a credit pause after each batch. Every one of
    them must still be sent."""
    settler = RecordingSettler()
    sizes: list[int] = []

    async def handler(batch: list[EventMessage]) -> Mapping[UUID, Exception | None]:
        sizes.append(len(batch))
        return dict.fromkeys(m.event_id for m in batch)

    async def paced(lane: str) -> float:
        return 0.01

    consumer = BatchingConsumer(
        batch_handler=handler,
        window_s=0.005,
        max_batch=max_batch,
        channel=FakeChannel(),  # type: ignore[arg-type]
        work_queue=OUTBOUND,
        settler=settler,
        pause=paced,
        progress=WorkProgress("tail", stall_after_s=3600),
    )
    await consumer.start(FakeChannel())  # type: ignore[arg-type]
    messages = [FakeMessage(_envelope(uuid4())) for _ in range(4 * max_batch + 1)]
    deliveries = [asyncio.create_task(consumer.receive(m)) for m in messages]  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(asyncio.gather(*deliveries), 5)
    finally:
        await consumer.stop(drain_timeout_s=0.1)
    assert all(m.calls == ["ack"] for m in messages)
    assert sum(sizes) == len(messages) and max(sizes) <= max_batch


async def test_a_lane_waiting_for_credits_holds_back_only_its_own_messages() -> None:
    """One account's batch waits (its credits, a slow Beds24) and its next batches are paused:
    another account's changes are sent within their window all the same."""
    settler = RecordingSettler()
    release = asyncio.Event()
    sent: dict[str, list[float]] = {"1": [], "2": []}
    loop = asyncio.get_running_loop()

    async def handler(batch: list[EventMessage]) -> Mapping[UUID, Exception | None]:
        lane = str(batch[0].property_id.int)
        sent[lane].append(loop.time())
        if lane == "1":
            await release.wait()  # e.g. the budget's wait for the window to reset
        return dict.fromkeys(m.event_id for m in batch)

    async def paced(lane: str) -> float:
        return 30.0 if lane == str(UUID(int=1)) else 0.0

    async def lane_of(envelope: EventMessage) -> str:
        return str(envelope.property_id)

    consumer = BatchingConsumer(
        batch_handler=handler,
        window_s=0.01,
        max_batch=2,
        channel=FakeChannel(),  # type: ignore[arg-type]
        work_queue=OUTBOUND,
        settler=settler,
        pause=paced,
        progress=WorkProgress("lanes", stall_after_s=3600),
        lane_of=lane_of,
        max_running=2,
    )
    await consumer.start(FakeChannel())  # type: ignore[arg-type]
    noisy = [FakeMessage(_envelope(uuid4(), 1)) for _ in range(6)]
    quiet = [FakeMessage(_envelope(uuid4(), 2)) for _ in range(5)]
    deliveries = [asyncio.create_task(consumer.receive(m)) for m in noisy]  # type: ignore[arg-type]
    try:
        await _until(lambda: bool(sent["1"]))
        started = loop.time()
        later = [asyncio.create_task(consumer.receive(m)) for m in quiet]  # type: ignore[arg-type]
        await asyncio.wait_for(asyncio.gather(*later), 2)
        assert all(m.calls == ["ack"] for m in quiet)
        assert loop.time() - started < 1.0  # windows of 10 ms, not the other lane's wait
        assert len(sent["1"]) == 1  # the noisy lane: its first batch still held
        assert not any(m.calls for m in noisy)
        release.set()
        await _until(lambda: sum(bool(m.calls) for m in noisy) == 2)
        assert len(sent["1"]) == 1  # its next batch waits for its own pause
    finally:
        release.set()
        await consumer.stop(drain_timeout_s=1)  # draining runs what waits, without the pause
    await asyncio.wait_for(asyncio.gather(*deliveries), 2)
    assert all(m.calls == ["ack"] for m in noisy)


async def _until(condition: Any) -> None:
    async def probe() -> bool:
        return bool(condition())

    await wait_for(probe, timeout=2, interval=0.002, what="batches sent")


async def test_replicas_pace_a_lane_as_one() -> None:
    """Two replicas, each with its own lane for the account: the pause one replica's batch
    asked (recorded where both read it, as the credit budget does) holds the other's next
    batch too, which then goes whole and in order; without it, the second replica would
    send at once beside the paced one."""
    loop = asyncio.get_running_loop()
    recorded: dict[str, float] = {}  # lane -> loop time until which it is paced
    sent: list[tuple[str, float, list[UUID]]] = []

    def replica(name: str) -> tuple[BatchingConsumer, RecordingSettler]:
        async def handler(batch: list[EventMessage]) -> Mapping[UUID, Exception | None]:
            sent.append((name, loop.time(), [m.event_id for m in batch]))
            return dict.fromkeys(m.event_id for m in batch)

        async def pause(lane: str) -> float:
            recorded[lane] = loop.time() + 0.4
            return 0.4

        async def paced(lane: str) -> float:
            return recorded.get(lane, 0.0) - loop.time()

        settler = RecordingSettler()
        consumer = BatchingConsumer(
            batch_handler=handler,
            window_s=0.01,
            max_batch=10,
            channel=FakeChannel(),  # type: ignore[arg-type]
            work_queue=OUTBOUND,
            settler=settler,
            pause=pause,
            paced=paced,
            progress=WorkProgress(f"replica-{name}", stall_after_s=3600),
        )
        return consumer, settler

    first, _ = replica("a")
    second, _ = replica("b")
    await first.start(FakeChannel())  # type: ignore[arg-type]
    await second.start(FakeChannel())  # type: ignore[arg-type]
    try:
        opening = FakeMessage(_envelope(uuid4()))
        await asyncio.wait_for(first.receive(opening), 2)  # type: ignore[arg-type]
        a_sent_at = sent[0][1]
        later = [FakeMessage(_envelope(uuid4())) for _ in range(3)]
        deliveries = [asyncio.create_task(second.receive(m)) for m in later]  # type: ignore[arg-type]
        await asyncio.wait_for(asyncio.gather(*deliveries), 2)
    finally:
        await first.stop(drain_timeout_s=0.5)
        await second.stop(drain_timeout_s=0.5)
    assert opening.calls == ["ack"] and all(m.calls == ["ack"] for m in later)
    assert [name for name, _, _ in sent] == ["a", "b"]  # one batch each: b's held, not split
    _, b_sent_at, b_ids = sent[1]
    assert b_sent_at - a_sent_at >= 0.35, "b sent inside the pause a's batch recorded"
    assert b_ids == [_body(m).event_id for m in later]


def _body(message: FakeMessage) -> EventMessage:
    return EventMessage.model_validate_json(message.body)
