"""The admin-api refuses to start without ADMIN_API_TOKEN, and says so by name."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest
from admin_api.main import load_settings


def test_missing_token_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADMIN_API_TOKEN", raising=False)
    with pytest.raises(SystemExit) as stopped:
        load_settings()
    assert "ADMIN_API_TOKEN: Field required" in str(stopped.value)


@pytest.mark.parametrize("value", ["", "   ", " padded "])
def test_unusable_tokens_are_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("ADMIN_API_TOKEN", value)
    with pytest.raises(SystemExit) as stopped:
        load_settings()
    assert "ADMIN_API_TOKEN" in str(stopped.value)
    if value.strip():
        assert value not in str(stopped.value)  # the token itself is never echoed


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_API_TOKEN", "t0ken")
    monkeypatch.setenv("PUBLIC_WEBHOOK_BASE_URL", "https://hooks.example.com/")
    settings = load_settings()
    assert settings.http_port == 8081
    assert settings.public_webhook_base_url == "https://hooks.example.com"
    assert "t0ken" not in repr(settings)


async def test_the_service_exits_at_once_without_a_token() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ADMIN_API_TOKEN"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from admin_api.main import main; main()",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 1
    assert b"ADMIN_API_TOKEN: Field required" in stderr
    assert b"Traceback" not in stderr
