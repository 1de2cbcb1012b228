"""What the Beds24 client raises; each class also tells the consumer what to do next.

Beds24Error
├── Beds24Unavailable       5xx, timeout, dropped connection: retry later (TransientError).
│                           For a write the outcome is UNKNOWN: resolve it before repeating.
├── Beds24CreditsExhausted  the account's credit window is spent: retry at `not_before`
│                           (RetryAfter); nothing was done.
├── Beds24Rejected          400, or an item answered `success: false`: Beds24's own words in
│                           the message (PermanentError).
└── Beds24AuthError         invite code or refresh token refused, or a fresh token still
                            refused: an operator must fix the credentials (PermanentError).
"""

from __future__ import annotations

from datetime import datetime

from channel_sync.errors import PermanentError, RetryAfter, TransientError


class Beds24Error(Exception):
    """Base of every error the Beds24 client raises."""

    status_code: int | None = None


class Beds24Unavailable(Beds24Error, TransientError):
    """Beds24 did not answer usefully (5xx, timeout, network); a write may or may not have
    happened."""

    def __init__(self, message: str, *, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class Beds24CreditsExhausted(Beds24Error, RetryAfter):
    """The account's five-minute credit pool is spent; nothing was done."""

    def __init__(self, message: str, not_before: datetime, *, status_code: int | None = None):
        RetryAfter.__init__(self, message, not_before)
        self.status_code = status_code


class Beds24Rejected(Beds24Error, PermanentError):
    """Beds24 refused the request or an item; `str()` carries Beds24's message."""

    def __init__(
        self, message: str, *, status_code: int | None = None, errors: list[str] | None = None
    ):
        super().__init__(message)
        self.status_code = status_code
        self.errors = errors or []


class Beds24AuthError(Beds24Error, PermanentError):
    """Credentials refused: the invite code, the refresh token, or a token just issued."""

    def __init__(self, message: str, *, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code
