"""What becomes of a consumed message: decided here without I/O, applied by `Settler`.

A handler's outcome (None for success, or the exception it raised) is first sorted:

    None                         → Ack
    PermanentError               → DeadLetter (event `failed` with the reason, message to the DLQ)
    RetryAfter, not counted      → UncountedRetry no earlier than it says (credits, a busy lock)
    anything else                → CountedRetry (the attempt is recorded first)

A counted retry is recorded in the event's row; what the row then says is decided by
`after_attempt`: retry after the delay for that attempt, dead-letter once attempts reach
`max_attempts`, or acknowledge when a concurrent delivery already finished the event.
When the outcome cannot be stored at all (Postgres away), `unstorable` retries uncounted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from channel_sync.amqp.topology import delay_tiers_ms
from channel_sync.errors import PermanentError, RetryAfter


@dataclass(frozen=True)
class Ack:
    """Done (or found done by a twin delivery): acknowledge."""


@dataclass(frozen=True)
class DeadLetter:
    reason: str


@dataclass(frozen=True)
class CountedRetry:
    reason: str


@dataclass(frozen=True)
class UncountedRetry:
    reason: str
    delay_ms: int


Decision = Ack | DeadLetter | CountedRetry | UncountedRetry
# What a recorded failed attempt leads to.
AfterAttempt = Ack | DeadLetter | UncountedRetry


def retry_delay_ms(delays_ms: list[int], attempt: int) -> int:
    """Delay before retry number `attempt` (1-based); the last delay repeats."""
    return delays_ms[min(max(attempt, 1), len(delays_ms)) - 1]


def delay_until(delays_ms: list[int], not_before: datetime, now: datetime) -> int:
    """The shortest configured delay that waits at least until `not_before`."""
    wanted_us = (not_before - now) // timedelta(microseconds=1)  # exact: no float rounding
    fitting = [d for d in sorted(delays_ms) if d * 1000 >= wanted_us]
    return fitting[0] if fitting else max(delays_ms)


def reason_of(error: BaseException) -> str:
    return str(error) or error.__class__.__name__


def decide(error: Exception | None, delays_ms: list[int], now: datetime) -> Decision:
    """The first step for a handler's outcome."""
    if error is None:
        return Ack()
    if isinstance(error, PermanentError):
        return DeadLetter(reason_of(error))
    if isinstance(error, RetryAfter) and not error.counts_as_attempt:
        wait_ms = delay_until(delay_tiers_ms(delays_ms), error.not_before, now)
        return UncountedRetry(reason_of(error), wait_ms)
    return CountedRetry(reason_of(error))  # anything unexpected is transient, bounded


def after_attempt(
    *, attempts: int, max_attempts: int, gave_up: bool, reason: str, delays_ms: list[int]
) -> AfterAttempt:
    """What the event's row says once a failed attempt is recorded in it."""
    if gave_up:
        return DeadLetter(reason)
    if max_attempts == 0:  # the row was done already (a concurrent delivery)
        return Ack()
    return UncountedRetry(reason, retry_delay_ms(delays_ms, attempts))


def unstorable(reason: str, delays_ms: list[int]) -> UncountedRetry:
    """The outcome could not be stored (Postgres away): try the message again later,
    uncounted, rather than hold its prefetch slot until the broker's consumer timeout."""
    return UncountedRetry(reason, retry_delay_ms(delays_ms, 1))
