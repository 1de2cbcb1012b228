"""Beds24 API V2 client (see `client.Beds24Client`; errors in `errors`)."""

from channel_sync.beds24.calendar import calendar_item, compress_calendar
from channel_sync.beds24.client import Beds24Client
from channel_sync.beds24.errors import (
    Beds24AuthError,
    Beds24CreditsExhausted,
    Beds24Error,
    Beds24Rejected,
    Beds24Unavailable,
)
from channel_sync.beds24.models import CreditStatus, ItemResult, SetupResult
from channel_sync.beds24.queries import ALL_STATUSES

__all__ = [
    "ALL_STATUSES",
    "Beds24AuthError",
    "Beds24Client",
    "Beds24CreditsExhausted",
    "Beds24Error",
    "Beds24Rejected",
    "Beds24Unavailable",
    "CreditStatus",
    "ItemResult",
    "SetupResult",
    "calendar_item",
    "compress_calendar",
]
