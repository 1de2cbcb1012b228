"""Prometheus metrics of the outbound worker (served at /metrics with the shared ones)."""

from __future__ import annotations

from channel_sync.beds24 import ItemResult
from prometheus_client import Counter

BEDS24_WRITES = Counter(
    "channel_sync_outbound_beds24_writes_total",
    "Beds24 write calls (POST /bookings, POST /inventory/rooms/calendar), by kind and outcome",
    ["kind", "outcome"],
)
BEDS24_ITEMS = Counter(
    "channel_sync_outbound_beds24_items_total",
    "Items sent to Beds24 in write calls, by kind and per-item result",
    ["kind", "result"],
)
CREDIT_WAITS = Counter(
    "channel_sync_outbound_credit_waits_total",
    "Times a Beds24 call waited for the account's credit window to reset",
)


def record_write(kind: str, results: list[ItemResult] | None, error: Exception | None) -> None:
    """One write call: its outcome (answered, or the error class) and its items' results."""
    if error is not None:
        BEDS24_WRITES.labels(kind, type(error).__name__).inc()
        return
    BEDS24_WRITES.labels(kind, "answered").inc()
    for result in results or []:
        BEDS24_ITEMS.labels(kind, "success" if result.success else "refused").inc()
