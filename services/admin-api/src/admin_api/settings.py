"""admin-api settings: the common ones plus the operator token and the public webhook base."""

from __future__ import annotations

from channel_sync.settings import CommonSettings
from pydantic import Field, SecretStr, field_validator


class AdminSettings(CommonSettings):
    # No default on purpose: the service must not start open to anyone.
    admin_api_token: SecretStr = Field(description="Bearer token every /admin route requires")
    public_webhook_base_url: str = Field(
        default="http://127.0.0.1:8080",
        description="Public base URL of the webhook-gateway, as Beds24 must call it",
    )
    http_host: str = Field(default="127.0.0.1", description="Address the admin-api listens on")
    http_port: int = Field(default=8081, ge=1, le=65535)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="Largest request body")
    # Retried events are held back from the relay this long while we publish them ourselves.
    retry_publish_hold_s: float = Field(default=10.0, gt=0)
    beds24_timeout_s: float = Field(default=15.0, gt=0)
    # How long a start waits for RabbitMQ before serving without it (it keeps trying).
    amqp_start_wait_s: float = Field(default=5.0, ge=0)
    console_session_ttl_s: int = Field(
        default=8 * 3600, ge=60, description="How long an ops console login lasts at most"
    )
    console_session_idle_s: int = Field(
        default=30 * 60, ge=60, description="A console session unused this long ends"
    )

    @field_validator("admin_api_token")
    @classmethod
    def _usable_token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value()
        if not token.strip() or token != token.strip():
            raise ValueError("must be non-empty without surrounding whitespace")
        return value

    @field_validator("public_webhook_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")
