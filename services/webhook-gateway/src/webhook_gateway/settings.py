"""webhook-gateway settings, from environment variables (defaults suit a local machine)."""

from __future__ import annotations

from channel_sync.settings import CommonSettings
from pydantic import Field


class GatewaySettings(CommonSettings):
    http_host: str = Field(default="0.0.0.0", description="Interface to listen on")  # noqa: S104
    http_port: int = Field(default=8080, ge=1, le=65535)
    max_body_bytes: int = Field(
        default=256 * 1024, ge=1024, description="Largest webhook body accepted (413 above)"
    )
    event_max_attempts: int = Field(
        default=3, ge=1, description="Attempts the inbound worker gets per stored event"
    )
    # The gateway publishes right after commit; the relay takes the row only if that fails
    # or the process dies first. Long enough for a slow publish, short enough to lose nothing.
    publish_hold_s: float = Field(default=10.0, ge=0)
    db_timeout_s: float = Field(
        default=5.0, gt=0, description="Longest wait for a database connection (503 after)"
    )
    amqp_reconnect_interval_s: float = Field(default=5.0, gt=0)
