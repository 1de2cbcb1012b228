"""What a batch step answers per event: None (done, already marked in the database) or the
exception the consumer settles it with (PermanentError → failed, RetryAfter → later without
counting, anything else → a counted attempt and a delayed retry)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TypeVar
from uuid import UUID

Outcomes = dict[UUID, Exception | None]

T = TypeVar("T")


def same_outcome(event_ids: Iterable[UUID], outcome: Exception | None) -> Outcomes:
    return dict.fromkeys(event_ids, outcome)


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def batch_key(kind: str, event_ids: Iterable[UUID]) -> str:
    """X-Idempotency-Key of one write: the same events give the same key (Beds24 ignores it,
    but it ties the call to its events in any log that shows it)."""
    digest = hashlib.sha256(",".join(sorted(str(e) for e in event_ids)).encode()).hexdigest()
    return f"pms-{kind}-{digest[:40]}"
