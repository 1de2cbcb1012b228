"""What a batch step answers per event: None (done, already marked in the database) or the
exception the consumer settles it with (PermanentError → failed, RetryAfter → later without
counting, anything else → a counted attempt and a delayed retry)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar
from uuid import UUID

Outcomes = dict[UUID, Exception | None]

T = TypeVar("T")


def same_outcome(event_ids: Iterable[UUID], outcome: Exception | None) -> Outcomes:
    return dict.fromkeys(event_ids, outcome)


# Bytes of items per Beds24 POST: half of Beds24's ~1 MB body limit, for headroom.
MAX_CALL_BYTES = 512 * 1024


def chunks(
    items: Sequence[T], size: int, *, weight: Callable[[T], int] = lambda _: 0
) -> list[list[T]]:
    """Consecutive runs of at most `size` items and MAX_CALL_BYTES of `weight`."""
    runs: list[list[T]] = []
    current: list[T] = []
    used = 0
    for item in items:
        cost = weight(item)
        if current and (len(current) >= size or used + cost > MAX_CALL_BYTES):
            runs.append(current)
            current, used = [], 0
        current.append(item)
        used += cost
    if current:
        runs.append(current)
    return runs


def json_bytes(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")))


def batch_key(kind: str, event_ids: Iterable[UUID]) -> str:
    """X-Idempotency-Key of one write: the same events give the same key (Beds24 ignores it,
    but it ties the call to its events in any log that shows it)."""
    digest = hashlib.sha256(",".join(sorted(str(e) for e in event_ids)).encode()).hexdigest()
    return f"pms-{kind}-{digest[:40]}"
