"""The dead-letter classifier and the tries count, without I/O: each reason the workers write
says whether a retry can help and, when it cannot, what to fix or do."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from admin_api.attempts import tries_of
from admin_api.failure_kinds import classify
from channel_sync.events import ChannelEvent, Direction, EventStatus

FIX_FIRST = [
    (
        "reservation 1f: its room is not mapped to a Beds24 room (add a 'room' or 'room_type' "
        "channel mapping)",
        "Map the room",
    ),
    (
        "room type 'Double' has no Beds24 room: map it (mapping_type 'room_type' or its rooms) "
        "before its prices and restrictions can be sent, then retry",
        "Map the room",
    ),
    (
        "rate plan 'BAR' (3e) has no Beds24 price slot: map it (mapping_type 'rate_plan', "
        "external_id 'price1'..'price16') and retry",
        "price slot",
    ),
    (
        "Beds24 room 55 sells PMS rooms of 2 room types: its prices and restrictions are "
        "ambiguous; map it to rooms of one room type",
        "one room type",
    ),
    ("reservation 1f: Beds24 room id 'abc' in channel_mappings is not a number", "digits"),
    ("the property is not connected to Beds24 (no beds24_properties row)", "Connect"),
    (
        "cannot fetch Beds24 booking 7: property 1f has no Beds24 link (beds24_properties)",
        "Connect",
    ),
    (
        "Beds24 booking 7: 2 PMS reservations carry its OTA code (booking.com); not guessed "
        "between: give the right one this Beds24 booking id, then retry the event",
        "right PMS",
    ),
    ("Beds24 refused the credentials on POST /bookings: token invalid", "credentials"),
]
NEVER = [
    ("Beds24 has no booking 77 (deleted, or not ours)", "no longer has this booking"),
    ("Beds24 booking 77: departure 2031-06-01 is not after arrival 2031-06-03", "impossible dates"),
    ("Beds24 booking 77 is already a reservation of another PMS property (1f)", "another property"),
    (
        "Beds24 booking 77 belongs to Beds24 property 9, but this PMS property is linked to 8",
        "another property",
    ),
    (
        "Beds24 booking 77 was made for reservation 1, but that Beds24 id is already linked to "
        "reservation 2: check both in Beds24 and link or cancel by hand",
        "Two reservations",
    ),
    ("Beds24 booking 77: unknown status 'weird'", "cannot hold"),
    ("Beds24 booking 77: numAdult is not a whole number >= 0", "cannot hold"),
    ("Beds24 booking field roomId is not an id (a whole number from 1 to 2^63-1)", "cannot hold"),
    ("the event payload holds no Beds24 booking", "cannot hold"),
    ("Beds24 rejected POST /bookings: Invalid arrival date", "in its own words"),
    ("Beds24 refused the item: room not available", "in its own words"),
    ("availability event without valid dates: {'from': None}", "malformed"),
]


@pytest.mark.parametrize(("reason", "says"), FIX_FIRST)
def test_what_a_fix_makes_retryable_names_the_fix(reason: str, says: str) -> None:
    kind = classify(reason, used_up_attempts=False)
    assert not kind.retryable and kind.fix_first and says in kind.next_step
    assert "then retry" in kind.next_step


@pytest.mark.parametrize(("reason", "says"), NEVER)
def test_what_no_retry_can_help_says_what_to_do(reason: str, says: str) -> None:
    kind = classify(reason, used_up_attempts=True)  # the text decides, not how it failed
    assert not kind.retryable and not kind.fix_first and says in kind.next_step
    assert "resolve" in kind.next_step


def test_unknown_reasons_follow_how_the_event_failed() -> None:
    passing = classify("Beds24 failed on GET /bookings: 503 busy", used_up_attempts=True)
    assert passing.retryable and "retry" in passing.next_step
    judged = classify("something new and final", used_up_attempts=False)
    assert not judged.retryable and "judged this permanent" in judged.next_step
    stalled = classify(
        "no worker finished it within 300s, several times: its message was lost or a worker "
        "crashes on it; check the worker logs, then retry",
        used_up_attempts=True,
    )
    assert stalled.retryable and "logs" in stalled.next_step
    assert classify(None, used_up_attempts=True).retryable


def _event(status: EventStatus, attempts: int, max_attempts: int = 3) -> ChannelEvent:
    return ChannelEvent(
        id=uuid.uuid4(),
        property_id=uuid.uuid4(),
        direction=Direction.INBOUND,
        event_type="beds24.booking.modified",
        entity_type="booking",
        idempotency_key="k",
        payload={},
        status=status,
        attempts=attempts,
        max_attempts=max_attempts,
        received_at=datetime.now(UTC),
    )


def test_tries_mean_what_they_say() -> None:
    at_once = tries_of(_event(EventStatus.FAILED, 0))
    assert (at_once.count, at_once.said) == (1, "failed for good on try 1")
    late = tries_of(_event(EventStatus.FAILED, 2))
    assert (late.count, late.said) == (3, "failed for good on try 3")
    gave_up = tries_of(_event(EventStatus.FAILED, 3))
    assert (gave_up.count, gave_up.gave_up, gave_up.said) == (3, True, "gave up after 3 tries")
    assert tries_of(_event(EventStatus.DONE, 0)).said == "1 try"
    assert tries_of(_event(EventStatus.DONE, 2)).said == "3 tries"
    assert tries_of(_event(EventStatus.PROCESSING, 1)).said == "1 try"
    assert tries_of(_event(EventStatus.RECEIVED, 0)).count == 0
    for status in EventStatus:
        for attempts in range(4):
            assert "after 0" not in tries_of(_event(status, attempts)).said
