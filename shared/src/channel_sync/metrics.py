"""Prometheus metrics shared by the services (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
STALLED_EVENTS = Counter(
    "channel_sync_stalled_events_total",
    "Events found `processing` untouched for too long by a relay's sweep, by direction and "
    "what became of them (requeued for the relay, or failed: out of attempts)",
    ["direction", "outcome"],
)
RELAY_FAILURES = Counter(
    "channel_sync_relay_failures_total",
    "Relay rounds that could not publish, by direction",
    ["direction"],
)
BATCH_EVENTS = Histogram(
    "channel_sync_batch_events",
    "Events per batch of a batching consumer, by queue",
    ["queue"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000),
)
HANDLER_SECONDS = Histogram(
    "channel_sync_handler_seconds",
    "Time to handle one event message, by queue",
    ["queue"],
)
LOOP_LAST_SUCCESS = Gauge(
    "channel_sync_loop_last_success_timestamp_seconds",
    "When a background loop (relay, poller, ...) last finished a round without error",
    ["loop"],
)
LOOP_ERRORS = Counter(
    "channel_sync_loop_errors_total",
    "Rounds of a background loop that failed (and were retried after a pause)",
    ["loop"],
)
LAST_CONSUMED = Gauge(
    "channel_sync_last_consumed_timestamp_seconds",
    "When a consumer last settled a message, by queue",
    ["queue"],
)
BROKER_CONNECTED = Gauge(
    "channel_sync_broker_connected",
    "1 while the service holds a working RabbitMQ connection",
)
BEDS24_CREDIT_REFUSALS = Counter(
    "channel_sync_beds24_credit_refusals_total",
    "Beds24 calls refused for credits (the budget should prevent every one)",
)
