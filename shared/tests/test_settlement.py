"""The settle decision, without I/O: what each handler outcome and each recorded attempt
leads to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from channel_sync.amqp.settlement import (
    Ack,
    CountedRetry,
    DeadLetter,
    UncountedRetry,
    after_attempt,
    decide,
    delay_until,
    retry_delay_ms,
    unstorable,
)
from channel_sync.amqp.topology import delay_tiers_ms
from channel_sync.errors import PermanentError, RetryAfter, TransientError
from hypothesis import example, given
from hypothesis import strategies as st

DELAYS = [30_000, 120_000, 300_000]
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_success_is_acknowledged() -> None:
    assert decide(None, DELAYS, NOW) == Ack()


def test_a_permanent_error_goes_to_the_dead_letters_with_its_reason() -> None:
    assert decide(PermanentError("room 7 is not mapped"), DELAYS, NOW) == DeadLetter(
        "room 7 is not mapped"
    )


@pytest.mark.parametrize(
    "error", [TransientError("HTTP 502"), RuntimeError("bug"), TimeoutError(), KeyError("x")]
)
def test_anything_else_is_a_counted_retry(error: Exception) -> None:
    decision = decide(error, DELAYS, NOW)
    assert isinstance(decision, CountedRetry)
    assert decision.reason  # never empty: the class name stands in for a bare exception


def test_a_retry_after_waits_at_least_until_its_time_uncounted() -> None:
    error = RetryAfter("credits low", NOW + timedelta(seconds=100))
    assert decide(error, DELAYS, NOW) == UncountedRetry("credits low", 120_000)


@pytest.mark.parametrize(("wait_s", "delay_ms"), [(0.2, 1_000), (1, 1_000), (2, 5_000), (5, 5_000)])
def test_a_short_wait_waits_about_what_it_asks_not_the_first_retry_delay(
    wait_s: float, delay_ms: int
) -> None:
    error = RetryAfter("another worker is sending this room", NOW + timedelta(seconds=wait_s))
    assert decide(error, DELAYS, NOW) == UncountedRetry(str(error), delay_ms)
    assert delay_ms in delay_tiers_ms(DELAYS)  # a retry queue exists for it


def test_short_waits_are_added_only_below_every_configured_delay() -> None:
    assert delay_tiers_ms(DELAYS) == [1_000, 5_000, 30_000, 120_000, 300_000]
    assert delay_tiers_ms([2_000, 60_000]) == [1_000, 2_000, 60_000]
    assert delay_tiers_ms([200, 800]) == [200, 800]  # already short: nothing to add


def test_a_retry_after_that_counts_is_a_counted_retry() -> None:
    error = RetryAfter("Beds24 busy", NOW + timedelta(seconds=1), counts_as_attempt=True)
    assert decide(error, DELAYS, NOW) == CountedRetry("Beds24 busy")


def test_a_wait_longer_than_every_delay_takes_the_longest() -> None:
    assert delay_until(DELAYS, NOW + timedelta(hours=2), NOW) == 300_000


def test_after_an_attempt_the_row_decides() -> None:
    common = {"reason": "HTTP 502", "delays_ms": DELAYS}
    assert after_attempt(attempts=3, max_attempts=3, gave_up=True, **common) == DeadLetter(
        "HTTP 502"
    )
    assert after_attempt(attempts=0, max_attempts=0, gave_up=False, **common) == Ack()
    assert after_attempt(attempts=2, max_attempts=3, gave_up=False, **common) == UncountedRetry(
        "HTTP 502", 120_000
    )


def test_an_outcome_that_cannot_be_stored_retries_after_the_first_delay() -> None:
    assert unstorable("database unavailable", DELAYS) == UncountedRetry(
        "database unavailable", 30_000
    )


@given(
    delays=st.lists(st.integers(1, 10**6), min_size=1, max_size=5),
    attempt=st.integers(-5, 50),
)
def test_the_retry_delay_is_always_one_of_the_configured_ones(
    delays: list[int], attempt: int
) -> None:
    assert retry_delay_ms(delays, attempt) in delays


@example(delays=[32063, 32064], wait_ms=32063)  # float milliseconds once chose 32064
@given(
    delays=st.lists(st.integers(1, 10**6), min_size=1, max_size=5),
    wait_ms=st.integers(-(10**6), 10**7),
)
def test_delay_until_waits_long_enough_when_a_delay_can(delays: list[int], wait_ms: int) -> None:
    chosen = delay_until(delays, NOW + timedelta(milliseconds=wait_ms), NOW)
    assert chosen in delays
    if wait_ms <= max(delays):
        assert chosen >= wait_ms
        assert all(d < wait_ms or d >= chosen for d in delays)  # the shortest that fits
