"""inbound-worker settings, from environment variables (defaults suit a local machine)."""

from __future__ import annotations

from channel_sync.settings import CommonSettings
from pydantic import Field


class InboundSettings(CommonSettings):
    http_host: str = Field(default="0.0.0.0", description="Health port interface")  # noqa: S104
    http_port: int = Field(default=8082, ge=1, le=65535)
    # Bookings are applied in batches: gathered this long from the first message waiting
    # (or until a batch is full), then one transaction for the batch.
    batch_window_ms: int = Field(default=20, ge=0, le=5_000)
    batch_max_events: int = Field(default=200, ge=1, le=2_000)
    batch_timeout_s: float = Field(default=120.0, gt=0)
    # Unacknowledged messages at once: two batches (the next gathers while one runs).
    prefetch: int = Field(default=400, ge=1, le=4_000, description="Unacked messages at once")
    relay_poll_interval_s: float = Field(default=2.0, gt=0)
    beds24_timeout_s: float = Field(default=15.0, gt=0)
    # Safety net for lost webhooks: each property is polled for bookings modified since its
    # last poll, minus a margin for clock skew and Beds24's own lag.
    poll_enabled: bool = Field(default=True)
    poll_interval_s: float = Field(default=300.0, gt=0)
    poll_margin_s: float = Field(default=600.0, ge=0)
    # A property never polled before looks back this far.
    poll_first_lookback_s: float = Field(default=86_400.0, ge=0)
    poll_max_attempts: int = Field(default=3, ge=1, description="max_attempts of polled events")
    # A Beds24 version stamped more than this before our last write to that booking (its
    # send time) is stale: the write replaced it. Covers whole-second stamps and clock skew.
    push_skew_margin_s: float = Field(default=2.0, ge=0)
    # Below this many Beds24 credits left for an account, a poll waits for the reset.
    credit_reserve: float = Field(default=5.0, ge=0)
    # Initial syncs and reconciliations (sync_runs): how often unfinished runs are looked
    # for, how often each synced property is reconciled (0: only on demand), how far ahead
    # availability is compared, and how long a reconciliation waits for the property's
    # events in flight before comparing availability anyway.
    sync_enabled: bool = Field(default=True)
    sync_every_s: float = Field(default=5.0, gt=0)
    reconcile_interval_s: float = Field(default=21_600.0, ge=0)
    sync_horizon_days: int = Field(default=365, ge=1, le=1_000)
    sync_settle_s: float = Field(default=300.0, ge=0)
