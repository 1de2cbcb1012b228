"""What a dead letter's reason means for an operator: can a retry help, and if not, what to
do. Pure (no I/O): the reasons are the texts the workers write into `last_error`
(PermanentError and Beds24 client texts across the services); the first rule that matches
decides. A reason no rule knows falls back on how the event failed: one that used up its
attempts failed for a passing cause (retryable); one that failed before that was judged
permanent by the worker (a retry as it is would fail the same way).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class FailureKind:
    retryable: bool  # a retry, as things are now, may succeed
    next_step: str  # what the operator does
    fix_first: bool = False  # not retryable until the fix is made; then retry


_MAPPINGS = "the property's mappings page (Properties → Map rooms…)"


def _fix(step: str) -> FailureKind:
    return FailureKind(False, step, fix_first=True)


def _never(step: str) -> FailureKind:
    return FailureKind(False, step)


# (pattern searched in the reason, its kind); the first match wins.
_RULES: tuple[tuple[re.Pattern[str], FailureKind], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        # Mappings and links an operator can make: fix, then retry.
        (
            r"is not mapped to a Beds24 room|has no Beds24 room",
            _fix(f"Map the room or its room type to a Beds24 room on {_MAPPINGS}, then retry."),
        ),
        (
            r"has no Beds24 price slot",
            _fix(
                f"Map the rate plan to a Beds24 price slot (price1..price16) on {_MAPPINGS}, "
                "then retry."
            ),
        ),
        (
            r"sells PMS rooms of \d+ room types",
            _fix(
                f"Map that Beds24 room to rooms of one room type only on {_MAPPINGS}, then retry."
            ),
        ),
        (
            r"in channel_mappings is not a number",
            _fix(f"Correct the Beds24 room or unit id (digits) on {_MAPPINGS}, then retry."),
        ),
        (
            r"not connected to Beds24|has no Beds24 link",
            _fix("Connect the property to Beds24 (Properties → Add a property), then retry."),
        ),
        (
            r"PMS reservations carry its OTA code",
            _fix(
                "Give the right PMS reservation this Beds24 booking id (the others keep "
                "none), then retry."
            ),
        ),
        (
            r"refused the credentials|refused a freshly issued token|authentication with",
            _fix(
                "Give the property new Beds24 credentials (an invite code or refresh token: "
                "PUT /admin/properties/{id}/credentials), then retry."
            ),
        ),
        # Nothing to apply, or data only a person can correct at its source: resolve.
        (
            r"Beds24 has no booking",
            _never(
                "Beds24 no longer has this booking (deleted, or not this account's): there "
                "is nothing to apply. If the PMS still holds the stay, cancel it there; then "
                "resolve this dead letter."
            ),
        ),
        (
            r"departure \S+ is not after arrival",
            _never(
                "Beds24 holds impossible dates for this booking. Correct them in Beds24 (the "
                "change arrives as a new event), then resolve this one."
            ),
        ),
        (
            r"is already a reservation of another PMS property|belongs to Beds24 property",
            _never(
                "The booking belongs to another property: check the webhook URL set in "
                "Beds24 for that property and which PMS property holds the stay, then "
                "resolve this one."
            ),
        ),
        (
            r"already linked to reservation",
            _never(
                "Two reservations claim one Beds24 booking: check both in Beds24, link or "
                "cancel the spare one by hand, then resolve this one."
            ),
        ),
        (
            r"^Beds24 booking \S+: |Beds24 booking field|the booking has no id|"
            r"holds no Beds24 booking",
            _never(
                "Beds24 sent a booking the PMS cannot hold (the reason names the field). "
                "Correct it in Beds24 (its next change arrives as a new event), then "
                "resolve this one."
            ),
        ),
        (
            r"Beds24 rejected|Beds24 refused the item",
            _never(
                "Beds24 refused the change in its own words (above). Correct what it names "
                "in the PMS (the correction is sent anew) or in Beds24, then resolve this "
                "one."
            ),
        ),
        (
            r"without valid dates|unknown outbound event",
            _never(
                "The event itself is malformed; no retry can send it. The PMS's next change "
                "of that room or reservation is sent anew: resolve this one."
            ),
        ),
        # Passing causes.
        (
            r"no worker finished it within",
            FailureKind(True, "Check the worker's logs for a crash on this event, then retry."),
        ),
    )
)

_PASSING = FailureKind(
    True,
    "The cause was passing (Beds24, the network or a database was away for every attempt): retry.",
)
_JUDGED_PERMANENT = _never(
    "The worker judged this permanent: fix what the reason names, then "
    "retry; or resolve it if the change is no longer needed."
)


def classify(reason: str | None, *, used_up_attempts: bool) -> FailureKind:
    """`used_up_attempts`: the event failed after its last allowed attempt (rather than
    at once, as a permanent error fails it)."""
    text = reason or ""
    for pattern, kind in _RULES:
        if pattern.search(text):
            return kind
    return _PASSING if used_up_attempts else _JUDGED_PERMANENT
