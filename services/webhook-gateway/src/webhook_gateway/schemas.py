"""The Beds24 V2 booking webhook and the V1 ping, as we validate them.

Only what the sync relies on is modelled; every other field is allowed and kept, because the
stored payload is the raw object, not the model. A V2 body is one webhook object or (as one
source reports) an array of them.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from channel_sync.inbound import parse_beds24_time
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

BookingStatus = Literal["confirmed", "request", "new", "cancelled", "black", "inquiry"]
V1Status = Literal["new", "modify", "cancel"]


class Booking(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int = Field(gt=0)
    propertyId: int | None = None
    roomId: int | None = None
    unitId: int | None = None
    status: BookingStatus | None = None
    arrival: date | None = None
    departure: date | None = None
    numAdult: int | None = Field(default=None, ge=0)
    numChild: int | None = Field(default=None, ge=0)
    price: Decimal | None = None
    modifiedTime: str | None = None

    @field_validator("modifiedTime")
    @classmethod
    def _beds24_time(cls, value: str | None) -> str | None:
        if value is not None:
            parse_beds24_time(value)  # raises ValueError → 400
        return value


class WebhookV2(BaseModel):
    model_config = ConfigDict(extra="allow")

    booking: Booking
    timeStamp: str | None = None
    retries: int | None = None


class PingV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    bookid: int = Field(gt=0, lt=10**15)
    status: V1Status | None = None


_ARRAY = TypeAdapter(list[WebhookV2])


class Malformed(ValueError):
    """The body is not a V2 webhook; the message says where, never echoing guest data."""


def parse_v2(body: bytes) -> list[tuple[dict[str, Any], WebhookV2]]:
    """Each webhook of the body: (the raw object to store, its validated view)."""
    try:
        raw = json.loads(body, parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise Malformed("body is not valid JSON") from exc
    if _has_nul(raw):
        raise Malformed("body contains a NUL character")
    try:
        if not isinstance(raw, list):
            return [(raw, WebhookV2.model_validate(raw))]
        if not raw:
            raise Malformed("empty array")
        return list(zip(raw, _ARRAY.validate_python(raw), strict=True))
    except ValidationError as exc:
        raise Malformed(_describe(exc)) from exc


def parse_v1(query: dict[str, str]) -> PingV1:
    try:
        return PingV1.model_validate(query)
    except ValidationError as exc:
        raise Malformed(_describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    """Field path and message of the first error; the input value is left out on purpose."""
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


def _reject_constant(name: str) -> Any:
    raise Malformed(f"{name} is not a JSON number")


def _has_nul(value: Any) -> bool:
    """Postgres jsonb refuses \\u0000; refuse it here as malformed rather than fail later."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
