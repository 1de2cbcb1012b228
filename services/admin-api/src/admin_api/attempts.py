"""How many times the sync tried an event, in words that mean what they say.

The `attempts` column counts failed attempts that may be retried (a timeout, Beds24 down):
a success, or a failure the worker judged permanent, does not add to it. So the tries are
`attempts`, plus the last one when the event is finished and did not use up its attempts
(it succeeded, or failed at once for good). A failed event that used them up gave up.
"""

from __future__ import annotations

from dataclasses import dataclass

from channel_sync.events import ChannelEvent, EventStatus


@dataclass(frozen=True)
class Tries:
    count: int
    gave_up: bool  # failed after its last allowed attempt
    failed_at_once: bool  # failed permanently (no retry counted it)

    @property
    def said(self) -> str:
        plural = "try" if self.count == 1 else "tries"
        if self.gave_up:
            return f"gave up after {self.count} {plural}"
        if self.failed_at_once:
            return f"failed for good on try {self.count}"
        return f"{self.count} {plural}"


def tries_of(event: ChannelEvent) -> Tries:
    used_up = event.attempts >= event.max_attempts
    if event.status is EventStatus.FAILED:
        if used_up:
            return Tries(event.attempts, gave_up=True, failed_at_once=False)
        return Tries(event.attempts + 1, gave_up=False, failed_at_once=True)
    if event.status is EventStatus.DONE:
        return Tries(event.attempts + 1, gave_up=False, failed_at_once=False)
    return Tries(event.attempts, gave_up=False, failed_at_once=False)  # still in flight
