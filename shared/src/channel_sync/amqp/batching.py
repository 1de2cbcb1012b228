"""A consumer that hands messages to one batch handler in batches, built from the same
parts as `EventConsumer` (a `Subscription`, a settler, a `WorkProgress`) around a `Batcher`.

The batcher gathers messages for a short window (from the oldest one waiting) or until a
batch is full, runs the batch handler once, and answers each message its outcome; each is
then settled as any consumed message is. Messages can be split into lanes (the outbound
worker's are Beds24 accounts): each lane is batched, paced and run apart from the others,
so one account's burst or credit wait never holds another account's changes. When credits
are short, `pause` (asked per lane after each of its batches) holds that lane's next batch
back, so its changes gather into fewer, larger calls; `paced` (asked before a lane's batch)
holds it back as long as another replica's batch of the lane asked, so replicas pace a lane
as one worker does.

The one rule that keeps it from stalling: the flush loop waits without a time bound only
while every waiting lane has its batch running or waits for a free running slot (each end
of a batch wakes it) or nothing waits at all. Whatever else waits has a flush time, and every
wait before it is bounded: the window, the pause (at most MAX_PAUSE_S), the batch itself
(`batch_timeout_s`). A batch that fails in any way (raises, is cancelled from inside, times
out, answers no outcome for an event) gives each of its events a transient error; the loop
goes on. If the loop task itself ends, the progress record says so and liveness fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from uuid import UUID

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from channel_sync import metrics
from channel_sync.amqp.consumer import Settles, Subscription, return_to_queue
from channel_sync.amqp.topology import WorkQueue
from channel_sync.errors import TransientError
from channel_sync.events import EventMessage
from channel_sync.progress import WorkProgress

logger = logging.getLogger(__name__)

Outcome = Exception | None
BatchHandler = Callable[[list[EventMessage]], Awaitable[Mapping[UUID, Outcome]]]
# Seconds a lane's next batch must wait after its last one (0: no pause).
Pause = Callable[[str], Awaitable[float]]
# The lane a message belongs to (e.g. its property's Beds24 account).
LaneOf = Callable[[EventMessage], Awaitable[str]]
# A longer pause is capped: the budget is asked again after it.
MAX_PAUSE_S = 60.0
# Held work that moves for this long (no message settled, no Beds24 call made, no known
# credit wait) is a stall.
STALL_AFTER_S = 180.0
# Asking for the pause may take this long; past it, the window is the pause.
PAUSE_QUESTION_TIMEOUT_S = 10.0


class NotRun(Exception):
    """The message's batch never ran (the consumer stopped): it goes back to the queue."""


class BatchFailed(TransientError):
    """The batch as a whole failed; each of its events retries."""


def next_flush_at(
    *,
    waiting: int,
    oldest_at: float,
    not_before: float,
    window_s: float,
    max_batch: int,
    draining: bool,
) -> float | None:
    """When the next batch should start (loop time), or None when nothing waits.

    A full batch goes once the pause after the last batch is over; a smaller one also
    waits for the window since its oldest message; a draining batcher does not wait."""
    if waiting == 0:
        return None
    if draining:
        return float("-inf")
    if waiting >= max_batch:
        return not_before
    return max(oldest_at + window_s, not_before)


@dataclass
class _Waiting:
    envelope: EventMessage
    future: asyncio.Future[Outcome]
    arrived_at: float


@dataclass
class _Lane:
    """One lane's messages waiting, its pacing, and its batch running (at most one: a lane's
    batches run in order)."""

    waiting: list[_Waiting] = field(default_factory=list)
    not_before: float = 0.0
    running: asyncio.Task[None] | None = None

    def idle(self, now: float) -> bool:
        """Nothing waits, runs or is paused: the lane can be forgotten."""
        done = self.running is None or self.running.done()
        return not self.waiting and done and self.not_before <= now


@dataclass
class Batcher:
    """Batches per lane (`lane_of`, e.g. a Beds24 account): each lane has its own window,
    pause and batch in flight, and up to `max_running` lanes run at once, so a lane that
    waits (for credits, for a slow Beds24) holds back only its own messages."""

    batch_handler: BatchHandler
    window_s: float
    max_batch: int
    progress: WorkProgress
    pause: Pause | None = None
    # Asked before a lane's batch: how long it must still wait for a pause that another
    # replica's batch of the same lane recorded (replicas pace a lane as one).
    paced: Pause | None = None
    batch_timeout_s: float = 900.0
    queue_name: str = "batch"
    lane_of: LaneOf | None = None
    max_running: int = 1
    _lanes: dict[str, _Lane] = field(default_factory=dict)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _draining: bool = False
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._draining = False
        self._task = asyncio.create_task(self._loop(), name=f"{self.queue_name}-batches")
        self._task.add_done_callback(self._ended)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def waiting(self) -> int:
        return sum(len(lane.waiting) for lane in self._lanes.values())

    async def submit(self, envelope: EventMessage) -> Outcome:
        """The outcome of the batch that carries `envelope`; NotRun if none will."""
        if self._draining or not self.running:
            raise NotRun("the batcher is not running")
        key = await self._lane_key(envelope)
        if self._draining or not self.running:
            raise NotRun("the batcher is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        lane = self._lanes.setdefault(key, _Lane())
        lane.waiting.append(_Waiting(envelope, future, loop.time()))
        self._arrived.set()
        return await future

    async def stop(self, drain_timeout_s: float) -> None:
        """Run what waits now, without window or pause, for up to `drain_timeout_s`; then
        end the loop. What did not run gets NotRun."""
        self._draining = True
        self._arrived.set()
        task, self._task = self._task, None
        if task is None:
            return
        await asyncio.wait({task}, timeout=drain_timeout_s)
        if not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=drain_timeout_s)  # a handler may swallow it

    async def _lane_key(self, envelope: EventMessage) -> str:
        """The message's lane; one shared lane when it cannot be told (bounded)."""
        if self.lane_of is None:
            return ""
        try:
            async with asyncio.timeout(PAUSE_QUESTION_TIMEOUT_S):
                return await self.lane_of(envelope)
        except Exception as exc:
            logger.warning("%s lane unknown: %s", self.queue_name, exc.__class__.__name__)
            return ""

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                now = loop.time()
                wake_at: float | None = None
                for key, lane in list(self._lanes.items()):
                    lane.waiting = [w for w in lane.waiting if not w.future.done()]
                    if lane.idle(now):
                        del self._lanes[key]
                        continue
                    if (lane.running is not None and not lane.running.done()) or not lane.waiting:
                        continue
                    flush_at = next_flush_at(
                        waiting=len(lane.waiting),
                        oldest_at=lane.waiting[0].arrived_at,
                        not_before=lane.not_before,
                        window_s=self.window_s,
                        max_batch=self.max_batch,
                        draining=self._draining,
                    )
                    assert flush_at is not None  # messages wait in the lane
                    if flush_at <= now and self._running_lanes() < self.max_running:
                        batch = lane.waiting[: self.max_batch]
                        del lane.waiting[: self.max_batch]
                        lane.running = asyncio.create_task(
                            self._run_lane(key, lane, batch), name=f"{self.queue_name}-{key}"
                        )
                        lane.running.add_done_callback(lambda _: self._arrived.set())
                    elif flush_at > now:
                        wake_at = flush_at if wake_at is None else min(wake_at, flush_at)
                if self._draining and not any(
                    lane.waiting or (lane.running and not lane.running.done())
                    for lane in self._lanes.values()
                ):
                    return
                # Only an arrival, a batch ending or a flush time makes work; nothing else
                # is waited for, and only an empty batcher waits without a bound.
                self._arrived.clear()
                if wake_at is None:
                    await self._arrived.wait()
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(wake_at - loop.time(), 0.0)):
                        await self._arrived.wait()
        finally:
            running = [lane.running for lane in self._lanes.values() if lane.running]
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running, timeout=self.batch_timeout_s)
            for lane in self._lanes.values():
                _give_back(lane.waiting)
            self._lanes = {}

    def _running_lanes(self) -> int:
        return sum(1 for lane in self._lanes.values() if lane.running and not lane.running.done())

    async def _run_lane(self, key: str, lane: _Lane, batch: list[_Waiting]) -> None:
        loop = asyncio.get_running_loop()
        try:
            held = 0.0 if self._draining else await self._ask(self.paced, key, default=0.0)
            if held > 0:  # back to the front of its lane until then, in order
                lane.waiting[:0] = batch
                batch = []  # the lane's again: nothing to give back
                lane.not_before = loop.time() + held
                self.progress.excuse_for(held)
                return
            await self._run(batch)
        finally:
            _give_back(batch)  # none left unanswered, whatever ended the run
        if not self._draining:
            pause = await self._ask(self.pause, key, default=self.window_s)
            lane.not_before = loop.time() + pause
            self.progress.excuse_for(pause)

    def _ended(self, task: asyncio.Task[None]) -> None:
        """Only `stop` may end the loop; any other end is a stall that liveness reports."""
        if self._draining:
            return
        error = None if task.cancelled() else task.exception()
        why = "cancelled" if task.cancelled() else type(error).__name__
        logger.critical("the %s batch loop ended (%s)", self.queue_name, why, exc_info=error)
        self.progress.broke(f"the batch loop ended ({why})")

    async def _run(self, batch: list[_Waiting]) -> None:
        """Run one batch; every future of it is answered, whatever happens."""
        first: dict[UUID, EventMessage] = {}
        for waiting in batch:
            first.setdefault(waiting.envelope.event_id, waiting.envelope)
        outcomes: Mapping[UUID, Outcome] = {}
        metrics.BATCH_EVENTS.labels(self.queue_name).observe(len(first))
        self.progress.beat()
        bound = asyncio.timeout(self.batch_timeout_s)
        try:
            async with bound:
                outcomes = await self.batch_handler(list(first.values()))
            if not isinstance(outcomes, Mapping):
                raise BatchFailed(f"the batch handler answered {type(outcomes).__name__}")
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                _give_back(batch)
                raise  # the batcher is being stopped
            logger.error("%s batch cancelled from inside its handler", self.queue_name)
            outcomes = dict.fromkeys(first, BatchFailed("the batch was cancelled"))
        except Exception as exc:
            error: Exception = exc
            if bound.expired():
                error = BatchFailed(f"the batch took longer than {self.batch_timeout_s:.0f} s")
            logger.warning("%s batch failed: %s", self.queue_name, error.__class__.__name__)
            outcomes = dict.fromkeys(first, error)
        _answer(batch, outcomes, BatchFailed("the batch gave no outcome for the event"))

    async def _ask(self, question: Pause | None, key: str, *, default: float) -> float:
        """A pause the caller gives for this lane (0 without a question), capped; `default`
        when it cannot be asked (the loop must outlive a failed question: the credit
        budget's gate still holds calls it cannot pay)."""
        if question is None:
            return 0.0
        try:
            async with asyncio.timeout(PAUSE_QUESTION_TIMEOUT_S):
                return min(max(await question(key), 0.0), MAX_PAUSE_S)
        except Exception as exc:
            logger.warning("batch pacing unavailable: %s", exc.__class__.__name__)
            return default


def _answer(batch: list[_Waiting], outcomes: Mapping[UUID, Outcome], missing: Exception) -> None:
    """Give each waiting message its event's outcome; a duplicate delivery in the same batch
    is acknowledged (its twin carries the outcome)."""
    answered: set[UUID] = set()
    for waiting in batch:
        event_id = waiting.envelope.event_id
        if waiting.future.done():
            continue  # its delivery was cancelled: a twin, if any, carries the outcome
        twin = event_id in answered
        waiting.future.set_result(None if twin else outcomes.get(event_id, missing))
        answered.add(event_id)


def _give_back(waiting: list[_Waiting]) -> None:
    """These messages' batch will not run: they go back to the queue."""
    for item in waiting:
        if not item.future.done():
            item.future.set_exception(NotRun("the batcher stopped"))


class BatchingConsumer:
    def __init__(
        self,
        *,
        batch_handler: BatchHandler,
        window_s: float,
        max_batch: int,
        channel: AbstractChannel | None,
        work_queue: WorkQueue,
        settler: Settles,
        pause: Pause | None = None,
        paced: Pause | None = None,
        prefetch: int | None = None,
        batch_timeout_s: float = 900.0,
        progress: WorkProgress | None = None,
        lane_of: LaneOf | None = None,
        max_running: int = 1,
    ) -> None:
        """`progress`: the queue's progress record, when others (a credit budget) report
        into it too; a new one with the default stall bound otherwise. `lane_of` splits the
        messages into lanes batched and paced apart, up to `max_running` at once."""
        self.progress = progress or WorkProgress(work_queue.name, stall_after_s=STALL_AFTER_S)
        self._batcher = Batcher(
            batch_handler=batch_handler,
            window_s=window_s,
            max_batch=max_batch,
            progress=self.progress,
            pause=pause,
            paced=paced,
            batch_timeout_s=batch_timeout_s,
            queue_name=work_queue.name,
            lane_of=lane_of,
            max_running=max_running,
        )
        self._settler = settler
        # Prefetch two batches: the next one gathers while the current one runs.
        self._subscription = Subscription(
            channel=channel,
            work_queue=work_queue,
            prefetch=prefetch if prefetch is not None else 2 * max_batch,
            deliver=self._deliver,
            progress=self.progress,
        )

    async def start(self, channel: AbstractChannel | None = None) -> None:
        if not self._batcher.running:
            self._batcher.start()
        await self._subscription.start(channel)

    @property
    def consuming(self) -> bool:
        return self._subscription.consuming

    async def stop(self, drain_timeout_s: float = 20.0) -> None:
        """Stop consuming, run the batches already gathered (no pause for credits: what
        cannot be paid goes back to the queue), settle their messages; the rest is returned."""
        await self._subscription.cancel()
        await self._batcher.stop(drain_timeout_s)
        await self._subscription.drain(drain_timeout_s)

    async def receive(self, message: AbstractIncomingMessage) -> None:
        """One delivery, as the broker's consumer callback gives it."""
        await self._subscription.receive(message)

    async def _deliver(self, message: AbstractIncomingMessage, envelope: EventMessage) -> None:
        try:
            outcome = await self._batcher.submit(envelope)
        except NotRun:
            await return_to_queue(message)
            return
        await self._settler.settle(message, envelope, outcome)
