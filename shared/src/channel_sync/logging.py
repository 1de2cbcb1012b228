"""JSON logging: one object per line. Only a service's main() calls configure_logging.

A traceback is bounded: its innermost frames and a clipped message, so one error is one
line of reasonable size however deep the stack (a RecursionError) or long the message.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

from pythonjsonlogger.json import JsonFormatter

from channel_sync.pms_fields import PERSONAL_KEYS

# Keys that must never reach a log line, whatever a caller passes in `extra`: secrets, and
# every name a guest's personal data goes by (channel_sync.pms_fields).
_REDACTED_KEYS = frozenset(
    {
        "token",
        "refresh_token",
        "refreshToken",
        "secret",
        "authorization",
        "password",
        "guest_name",
    }
    | PERSONAL_KEYS
)


# Innermost frames kept per exception, and the most characters of a formatted traceback.
TRACEBACK_FRAMES = 12
TRACEBACK_CHARS = 8000
_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def bounded_traceback(exc_info: _ExcInfo | tuple[None, None, None]) -> str:
    """The traceback of `exc_info`, its frames and total size bounded; chained causes
    are left out (the frames of the last one say where it happened)."""
    _, exc, _tb = exc_info
    if exc is None:
        return ""
    lines = traceback.format_exception(exc, limit=-TRACEBACK_FRAMES, chain=False)
    text = "".join(lines).rstrip()
    if len(text) > TRACEBACK_CHARS:
        text = (
            text[: TRACEBACK_CHARS // 2] + "\n[... clipped ...]\n" + text[-TRACEBACK_CHARS // 2 :]
        )
    return text


class _RedactingFormatter(JsonFormatter):
    def formatException(self, ei: _ExcInfo | tuple[None, None, None]) -> str:
        return bounded_traceback(ei)

    def process_log_record(self, log_record: dict[str, object]) -> dict[str, object]:
        for key in _REDACTED_KEYS.intersection(log_record):
            log_record[key] = "[redacted]"
        return log_record


def configure_logging(level: str = "INFO", service: str = "channel-sync") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        _RedactingFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs full URLs at INFO; our client logs what matters itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiormq").setLevel(logging.WARNING)
    logging.getLogger("aio_pika").setLevel(logging.WARNING)
