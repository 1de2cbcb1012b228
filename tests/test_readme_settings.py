"""The README's settings table names every environment variable the services read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from admin_api.settings import AdminSettings
from inbound_worker.settings import InboundSettings
from outbound_worker.settings import OutboundSettings
from pydantic_settings import BaseSettings
from webhook_gateway.settings import GatewaySettings

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize(
    "settings_class", [GatewaySettings, InboundSettings, OutboundSettings, AdminSettings]
)
def test_every_setting_is_documented(settings_class: type[BaseSettings]) -> None:
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", README.read_text()))
    missing = {name.upper() for name in settings_class.model_fields} - documented
    assert not missing, f"README settings table lacks {sorted(missing)}"
