"""Webhook secrets: generated here, shown once, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class NewSecret:
    value: str

    @classmethod
    def generate(cls) -> NewSecret:
        return cls(secrets.token_urlsafe(32))

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.value.encode()).hexdigest()

    @property
    def header_line(self) -> str:
        """What to paste into the Beds24 webhook's custom header field."""
        return f"Authorization: Bearer {self.value}"

    def __repr__(self) -> str:
        return "NewSecret(***)"


def webhook_url(base_url: str, property_id: UUID) -> str:
    return f"{base_url.rstrip('/')}/webhooks/beds24/{property_id}"
