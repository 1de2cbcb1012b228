"""What runs do, for Prometheus: steps by stage, runs ended, drift found by kind and how it
was resolved (the detail of each is in `drift_records` and the admin API)."""

from __future__ import annotations

from prometheus_client import Counter

SYNC_STEPS = Counter(
    "inbound_worker_sync_steps_total",
    "Steps of initial syncs and reconciliations",
    ["kind", "stage"],
)
SYNC_RUNS = Counter(
    "inbound_worker_sync_runs_total", "Initial syncs and reconciliations ended", ["kind"]
)
SYNC_BOOKINGS = Counter(
    "inbound_worker_sync_bookings_compared_total", "Beds24 bookings a run compared", ["kind"]
)
DRIFT = Counter(
    "inbound_worker_drift_total",
    "Differences found between Beds24 and the PMS, by kind and resolution (repaired, open)",
    ["kind", "resolution"],
)


def count_drift(kind: str, resolution: str, n: int = 1) -> None:
    DRIFT.labels(kind, resolution).inc(n)
