"""The exception tree handlers raise to tell the consumer what to do with a message.

ChannelSyncError
├── TransientError      retry later with a growing delay; counts as an attempt
│   └── RetryAfter      retry no earlier than `not_before`; may not count as an attempt
└── PermanentError      no retry can help: the event ends `failed` with the reason
"""

from __future__ import annotations

from datetime import datetime


class ChannelSyncError(Exception):
    """Base of every error the sync raises on purpose; `str()` is meant for operators."""


class TransientError(ChannelSyncError):
    """The same event may succeed later (a timeout, a 5xx, a lock, a broker hiccup)."""


class RetryAfter(TransientError):
    """Retry no earlier than `not_before` (e.g. Beds24 credits exhausted until a reset)."""

    def __init__(self, message: str, not_before: datetime, *, counts_as_attempt: bool = False):
        super().__init__(message)
        self.not_before = not_before
        self.counts_as_attempt = counts_as_attempt


class PermanentError(ChannelSyncError):
    """Invalid data or a refusal that retrying cannot change."""
