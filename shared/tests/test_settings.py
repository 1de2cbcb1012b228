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
