"""Settings read from the environment; a bad or missing value fails naming the variable."""

from __future__ import annotations

import pytest
from channel_sync.settings import CommonSettings
from pydantic import Field, ValidationError


class _ServiceWithSecret(CommonSettings):
    webhook_signing_key: str = Field(description="required: no default")


def test_defaults_suit_a_local_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "RABBITMQ_URL", "RETRY_DELAYS_MS"):
        monkeypatch.delenv(name, raising=False)
    settings = CommonSettings()
    assert settings.dsn.startswith("postgresql://")
    assert settings.rabbitmq_url.startswith("amqp://")
    assert settings.retry_delays_ms == [30_000, 120_000, 300_000]


def test_retry_delays_parse_from_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETRY_DELAYS_MS", "100, 200,400")
    assert CommonSettings().retry_delays_ms == [100, 200, 400]


def test_missing_required_value_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBHOOK_SIGNING_KEY", raising=False)
    with pytest.raises(ValidationError) as excinfo:
        _ServiceWithSecret()
    assert "webhook_signing_key" in str(excinfo.value)
    assert "Field required" in str(excinfo.value)


def test_malformed_value_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://nope")
    with pytest.raises(ValidationError) as excinfo:
        CommonSettings()
    assert "database_url" in str(excinfo.value)


def test_listen_connections_go_to_database_url_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@pgbouncer:6432/channel_sync")
    monkeypatch.delenv("DATABASE_LISTEN_URL", raising=False)
    assert CommonSettings().listen_dsn == CommonSettings().dsn
    # Behind a transaction pooler: LISTEN on Postgres itself.
    monkeypatch.setenv("DATABASE_LISTEN_URL", "postgresql://app@postgres:5432/channel_sync")
    settings = CommonSettings()
    assert settings.dsn == "postgresql://app@pgbouncer:6432/channel_sync"
    assert settings.listen_dsn == "postgresql://app@postgres:5432/channel_sync"


def test_the_statement_cache_is_asyncpgs_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DB_STATEMENT_CACHE_SIZE", raising=False)
    assert CommonSettings().db_statement_cache_size == 100
    monkeypatch.setenv("DB_STATEMENT_CACHE_SIZE", "0")
    assert CommonSettings().db_statement_cache_size == 0
    monkeypatch.setenv("DB_STATEMENT_CACHE_SIZE", "-1")
    with pytest.raises(ValidationError):
        CommonSettings()


def test_a_workers_relay_listens_where_the_settings_say() -> None:
    from channel_sync.events import Direction
    from channel_sync.worker import Infra

    infra = Infra(pool=object(), link=object(), listen_dsn="postgresql://app@postgres/db")  # type: ignore[arg-type]
    relay = infra.relay(Direction.INBOUND, poll_interval_s=1.0)
    assert relay._listen_dsn == "postgresql://app@postgres/db"
