"""outbound-worker settings, from environment variables (defaults suit a local machine)."""

from __future__ import annotations

from channel_sync.settings import CommonSettings
from pydantic import Field


class OutboundSettings(CommonSettings):
    http_host: str = Field(default="0.0.0.0", description="Health port interface")  # noqa: S104
    http_port: int = Field(default=8083, ge=1, le=65535)
    # Messages are gathered this long (from the first one) into one batch per account.
    batch_window_ms: int = Field(default=300, ge=0, le=60_000)
    # A batch's events collapse into one item per reservation: large batches are cheap.
    batch_max_events: int = Field(default=5_000, ge=1, le=20_000)
    # Items per Beds24 POST: well under Beds24's ~10,000 items and ~1 MB per call.
    max_items_per_call: int = Field(default=200, ge=1, le=1_000)
    # Below this many credits left, wait for the account's five-minute window to reset.
    credit_reserve: float = Field(default=5.0, ge=0)
    # Fewer credits than this left to spend (past the reserve): batches are spaced so the
    # rest lasts until the window resets, each expected to cost `batch_credits`.
    pace_below_credits: float = Field(default=50.0, ge=0)
    batch_credits: float = Field(default=4.0, gt=0)
    # Longer waits for credits go back to the queue (not counted) instead of holding messages.
    max_credit_wait_s: float = Field(default=330.0, ge=0)
    # Calendar writes (availability, prices, restrictions) of one account are at least this
    # far apart: changes arriving meanwhile join the next write, so a burst of price edits
    # costs a few calls instead of one per batch (bookings are not held by it).
    calendar_interval_s: float = Field(default=1.5, ge=0, le=30)
    # How often inventory holds past their expiry are marked expired (their unit given back).
    hold_reaper_every_s: float = Field(default=1.0, gt=0, le=60)
    # Room/mapping changes update availability from today this many days ahead.
    availability_horizon_days: int = Field(default=365, ge=1, le=1_000)
    # A batch running longer is cut off: its events retry (counted).
    batch_timeout_s: float = Field(default=900.0, gt=0)
    # Work held this long without moving (no message settled, no Beds24 call, no known
    # credit wait) fails liveness: the orchestrator restarts the worker.
    stall_after_s: float = Field(default=180.0, gt=0)
    beds24_timeout_s: float = Field(default=15.0, gt=0)
    relay_poll_interval_s: float = Field(default=2.0, gt=0)
    # Busy with another replica: try again after this long (not counted as an attempt).
    busy_retry_s: float = Field(default=1.0, gt=0)
