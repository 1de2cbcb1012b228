"""Settings every service shares, read from environment variables (see README's table)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, PostgresDsn, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class CommonSettings(BaseSettings):
    """Base for each service's settings class; required values have no default."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    database_url: PostgresDsn = Field(
        default=PostgresDsn("postgresql://postgres@127.0.0.1:5432/channel_sync"),
        description="Postgres DSN holding the PMS tables and channel_events",
    )
    # LISTEN keeps state on its connection for as long as it listens: through a
    # transaction-mode pooler (PgBouncer) the notices would go to whichever client the server
    # connection serves next. Deployments with a pooler point this at Postgres itself.
    database_listen_url: PostgresDsn | None = Field(
        default=None,
        description="Postgres DSN of the LISTEN connections, never through a transaction "
        "pooler (default: DATABASE_URL)",
    )
    rabbitmq_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672/",
        description="AMQP URL of the RabbitMQ broker (vhost in the path)",
    )
    beds24_api_url: str = Field(
        default="https://beds24.com/api/v2", description="Base URL of Beds24 API V2"
    )
    log_level: str = Field(default="INFO", description="Python log level")
    db_pool_min_size: int = Field(default=1, ge=0)
    db_pool_max_size: int = Field(default=10, ge=1)
    # asyncpg's per-connection cache of named prepared statements. A transaction-mode pooler
    # may run a statement's Parse and its Bind on different server connections: 0 there
    # (asyncpg then sends unnamed statements, parsed again with each execution).
    db_statement_cache_size: int = Field(default=100, ge=0)
    amqp_publish_timeout_s: float = Field(default=5.0, gt=0)
    # Delays between consumer attempts, one per retry; the last one repeats if attempts outrun
    # it. Also the waits offered to work deferred without counting (e.g. for Beds24 credits).
    retry_delays_ms: Annotated[list[int], NoDecode] = Field(default=[30_000, 120_000, 300_000])

    @field_validator("retry_delays_ms", mode="before")
    @classmethod
    def _split_delays(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.split(",") if part.strip()]
        return value

    @field_validator("retry_delays_ms")
    @classmethod
    def _positive_delays(cls, value: list[int]) -> list[int]:
        if not value or any(d <= 0 for d in value):
            raise ValueError("needs one or more positive delays in milliseconds")
        return value

    @property
    def dsn(self) -> str:
        return str(self.database_url)

    @property
    def listen_dsn(self) -> str:
        """Where LISTEN connections go: Postgres itself, bypassing any pooler."""
        return str(self.database_listen_url or self.database_url)
