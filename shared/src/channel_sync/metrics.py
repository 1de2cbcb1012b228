"""Prometheus metrics shared by the services (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS_HANDLED = Counter(
    "channel_sync_events_handled_total",
    "Event messages settled by a consumer, by queue and outcome",
    ["queue", "outcome"],
)
EVENTS_RELAYED = Counter(
    "channel_sync_events_relayed_total",
    "Stored events published by a relay, by direction",
    ["direction"],
)
RELAY_FAILURES = Counter(
    "channel_sync_relay_failures_total",
    "Relay rounds that could not publish, by direction",
    ["direction"],
)
HANDLER_SECONDS = Histogram(
    "channel_sync_handler_seconds",
    "Time to handle one event message, by queue",
    ["queue"],
)
BEDS24_CREDIT_REFUSALS = Counter(
    "channel_sync_beds24_credit_refusals_total",
    "Beds24 calls refused for credits (the budget should prevent every one)",
)
