"""JSON logging: one object per line. Only a service's main() calls configure_logging."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

# Keys that must never reach a log line, whatever a caller passes in `extra`.
_REDACTED_KEYS = frozenset(
    {
        "token",
        "refresh_token",
        "refreshToken",
        "secret",
        "authorization",
        "password",
        "firstName",
        "lastName",
        "email",
        "phone",
        "mobile",
        "address",
        "guest_name",
    }
)


class _RedactingFormatter(JsonFormatter):
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
