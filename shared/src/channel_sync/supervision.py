"""Long-running loops that outlive any error of one round, and the health they report.

`supervise` runs a round, waits, runs it again until told to stop. A round that raises is
logged once (a warning when Postgres or RabbitMQ is simply unavailable, an error with its
traceback otherwise), counted, and retried after a growing pause; every round has a time
bound, so a hung call cannot stall the loop for good.

`LoopHealth` records each loop's rounds: /readyz asks whether a loop succeeded recently
(can the service do its job now?), /healthz whether every loop still turns (is the process
alive, or should the orchestrator restart it?). A loop task that ends while the service
runs is a fault of its own: `run_until_stopped` (worker.py) then stops the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from channel_sync import metrics
from channel_sync.outages import outage_of

logger = logging.getLogger(__name__)

Round = Callable[[], Awaitable[object]]


@dataclass
class _LoopState:
    every_s: float
    round_timeout_s: float
    last_beat: float  # monotonic: the last round that ended, well or not
    last_success: float | None = None
    failures: int = 0


class LoopHealth:
    """What each supervised loop of a process last did."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._loops: dict[str, _LoopState] = {}
        self._clock = clock

    def register(self, name: str, *, every_s: float, round_timeout_s: float) -> None:
        self._loops[name] = _LoopState(every_s, round_timeout_s, self._clock())

    def beat(self, name: str, *, ok: bool) -> None:
        state = self._loops[name]
        now = self._clock()
        state.last_beat = now
        if ok:
            state.last_success = now
            state.failures = 0
            metrics.LOOP_LAST_SUCCESS.labels(name).set_to_current_time()
        else:
            state.failures += 1

    def failures(self, name: str) -> int:
        return self._loops[name].failures

    def working(self, name: str) -> bool:
        """Its last round succeeded (readiness)."""
        state = self._loops.get(name)
        return state is not None and state.last_success is not None and state.failures == 0

    def stuck(self) -> list[str]:
        """Loops with no round ended for longer than a round may take plus a pause
        (liveness): the process no longer works and should be restarted."""
        now = self._clock()
        return [
            name
            for name, s in self._loops.items()
            if now - s.last_beat > s.round_timeout_s + 2 * s.every_s + MAX_BACKOFF_S
        ]


MAX_BACKOFF_S = 15.0


def backoff_s(every_s: float, failures: int, first_s: float = 0.5) -> float:
    """Pause after `failures` failed rounds in a row: 0.5 s, doubled per failure up to
    MAX_BACKOFF_S, so work resumes within seconds of an outage's end however long it
    lasted; the usual interval after a success."""
    if failures <= 0:
        return every_s
    doubled: float = first_s * 2.0 ** (failures - 1)
    return min(MAX_BACKOFF_S, doubled)


async def supervise(
    name: str,
    round_: Round,
    stop: asyncio.Event,
    health: LoopHealth,
    *,
    every_s: float,
    round_timeout_s: float = 120.0,
    wake: asyncio.Event | None = None,
    first_backoff_s: float = 0.5,
) -> None:
    """Run `round_` every `every_s` seconds (or as soon as `wake` is set) until `stop`."""
    health.register(name, every_s=every_s, round_timeout_s=round_timeout_s)
    while not stop.is_set():
        if wake is not None:
            wake.clear()  # before the round: a wake-up during it starts the next one at once
        ok = await _one_round(name, round_, round_timeout_s)
        health.beat(name, ok=ok)
        pause = backoff_s(every_s, health.failures(name), first_backoff_s)
        await _wait(pause, stop, wake if ok else None)


async def _one_round(name: str, round_: Round, timeout_s: float) -> bool:
    try:
        async with asyncio.timeout(timeout_s):
            await round_()
    except Exception as exc:
        metrics.LOOP_ERRORS.labels(name).inc()
        outage = outage_of(exc)
        if outage is not None:
            logger.warning("%s round failed: %s unavailable (%s)", name, outage, type(exc).__name__)
        else:
            logger.error("%s round failed unexpectedly", name, exc_info=exc)
        return False
    return True


async def _wait(seconds: float, stop: asyncio.Event, wake: asyncio.Event | None) -> None:
    waits = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waits.append(asyncio.ensure_future(wake.wait()))
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
