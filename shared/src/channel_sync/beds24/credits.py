"""Credit headers: Beds24 sends lower-case names on the wire; its OpenAPI file names four
others (the limit, remaining, resets-in and cost): both spellings are read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from channel_sync.beds24.models import CreditStatus

_REMAINING = ("x-five-min-limit-remaining", "x-fivemincreditlimit-remaining")
_RESETS_IN = ("x-five-min-limit-resets-in", "x-fivemincreditlimit-resetsin")
_COST = ("x-request-cost", "x-requestcost")
_LIMIT = ("x-fivemincreditlimit",)


def _first_decimal(headers: Mapping[str, str], names: tuple[str, ...]) -> Decimal | None:
    for name in names:
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            continue
        if value.is_finite():
            return value
    return None


def parse_credit_headers(
    headers: Mapping[str, str], *, now: datetime | None = None
) -> CreditStatus | None:
    """The credit status an answer reports, or None when it carries no remaining count.

    `headers` must look names up case-insensitively (httpx.Headers does).
    """
    remaining = _first_decimal(headers, _REMAINING)
    if remaining is None:
        return None
    resets_in = _first_decimal(headers, _RESETS_IN)
    now = now or datetime.now(UTC)
    seconds = float(resets_in) if resets_in is not None and resets_in >= 0 else 0.0
    return CreditStatus(
        remaining=remaining,
        resets_at=now + timedelta(seconds=seconds),
        request_cost=_first_decimal(headers, _COST),
        limit=_first_decimal(headers, _LIMIT),
    )


def resets_in_seconds(headers: Mapping[str, str]) -> float | None:
    value = _first_decimal(headers, _RESETS_IN)
    return float(value) if value is not None and value >= 0 else None
