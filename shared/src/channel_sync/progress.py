"""Progress of the work a consumer holds, so that work which stops moving is seen.

A consumer registers each message it is delivered (`hold`) and releases it once settled.
Anything that moves the held work forward beats (`beat`): a message settled, a Beds24
call made. A wait whose end is known (the credit budget pausing until its window resets)
excuses silence until then (`excuse_until`).

`stalled()` is the liveness verdict: work is held, nothing moved for `stall_after_s`, and
no known wait explains it. The figures behind it are exported per queue at every scrape:
messages held, the age of the oldest one, seconds since the last progress.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector


class WorkProgress:
    def __init__(
        self, name: str, *, stall_after_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.stall_after_s = stall_after_s
        self._clock = clock
        self._held: dict[int, float] = {}  # token → when held; insertion order = age order
        self._tokens = itertools.count()
        self._last_progress = clock()
        self._excused_until = 0.0
        self._broken: str | None = None
        _COLLECTOR.track(self)

    def hold(self) -> int:
        """A message arrived and is now held; returns the token to release it with."""
        token = next(self._tokens)
        if not self._held:
            self._last_progress = self._clock()  # idle time is not a stall
        self._held[token] = self._clock()
        return token

    def release(self, token: int) -> None:
        """The message is settled (or handed back to the broker)."""
        if self._held.pop(token, None) is not None:
            self._last_progress = self._clock()

    def beat(self) -> None:
        """Held work moved forward without a message being settled yet."""
        self._last_progress = self._clock()

    def excuse_for(self, seconds: float) -> None:
        """A known wait (credits) holds the work this long: not a stall until it ends."""
        self._excused_until = max(self._excused_until, self._clock() + max(seconds, 0.0))

    def broke(self, reason: str) -> None:
        """What must move the work has ended for good (a loop task died): stalled at once."""
        self._broken = reason

    @property
    def held(self) -> int:
        return len(self._held)

    def oldest_held_age_s(self) -> float:
        oldest = next(iter(self._held.values()), None)
        return 0.0 if oldest is None else self._clock() - oldest

    def idle_s(self) -> float:
        """Seconds since the held work last moved (0 when nothing is held)."""
        return self._clock() - self._last_progress if self._held else 0.0

    def stalled(self) -> str | None:
        """Why the held work is stuck, or None."""
        if self._broken is not None:
            return f"{self.name}: {self._broken}"
        if not self._held:
            return None
        now = self._clock()
        idle = now - self._last_progress
        if idle <= self.stall_after_s or now < self._excused_until:
            return None
        return (
            f"{self.name}: {len(self._held)} message(s) held, none settled for {idle:.0f} s "
            f"(bound {self.stall_after_s:.0f} s)"
        )

    def forget(self) -> None:
        """Stop exporting this tracker (its consumer is gone)."""
        _COLLECTOR.untrack(self)


class _ProgressCollector(Collector):
    """Exports every live tracker's figures, computed at scrape time."""

    def __init__(self) -> None:
        self._trackers: list[WorkProgress] = []

    def track(self, progress: WorkProgress) -> None:
        self._trackers = [p for p in self._trackers if p.name != progress.name] + [progress]

    def untrack(self, progress: WorkProgress) -> None:
        self._trackers = [p for p in self._trackers if p is not progress]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        held = GaugeMetricFamily(
            "channel_sync_consumer_held_messages",
            "Messages a consumer holds (delivered, not yet settled), by queue",
            labels=["queue"],
        )
        oldest = GaugeMetricFamily(
            "channel_sync_consumer_oldest_held_age_seconds",
            "Age of the oldest message a consumer holds and has not settled, by queue",
            labels=["queue"],
        )
        idle = GaugeMetricFamily(
            "channel_sync_consumer_idle_seconds",
            "Seconds since held work last moved (0 when none is held), by queue",
            labels=["queue"],
        )
        stalled = GaugeMetricFamily(
            "channel_sync_consumer_stalled",
            "1 while a consumer's held work is stalled (liveness fails), by queue",
            labels=["queue"],
        )
        for p in self._trackers:
            held.add_metric([p.name], p.held)
            oldest.add_metric([p.name], p.oldest_held_age_s())
            idle.add_metric([p.name], p.idle_s())
            stalled.add_metric([p.name], 1.0 if p.stalled() else 0.0)
        yield from (held, oldest, idle, stalled)


_COLLECTOR = _ProgressCollector()
REGISTRY.register(_COLLECTOR)


def stalled_of(trackers: Iterable[WorkProgress]) -> list[str]:
    return [reason for p in trackers if (reason := p.stalled()) is not None]
