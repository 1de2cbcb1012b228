"""The Beds24 V2 booking webhook and the V1 ping, as we validate them.

Only what the sync relies on is modelled; every other field is allowed and kept, because the
stored payload is the raw object, not the model. A V2 body is one webhook object or (as one
source reports) an array of them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from channel_sync.inbound import parse_beds24_time
from channel_sync.json_input import UnsafeJson, parse_json
from channel_sync.pms_limits import BIGINT_MAX, INTEGER_MAX, MONEY_LIMIT
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    TypeAdapter,
    ValidationError,
    field_validator,
)

BookingStatus = Literal["confirmed", "request", "new", "cancelled", "black", "inquiry"]
V1Status = Literal["new", "modify", "cancel"]


def _iso_date(value: Any) -> date:
    """`YYYY-MM-DD` as the inbound worker reads it (a number is not a date)."""
    if not isinstance(value, str):
        raise ValueError("must be a date string YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a date YYYY-MM-DD") from None


def _beds24_time(value: str) -> str:
    parse_beds24_time(value)  # ValueError (range included) → 400, the value not repeated
    return value


# Ids and counts as the PMS columns hold them: JSON integers (no strings, no floats).
BigintId = Annotated[StrictInt, Field(ge=0, le=BIGINT_MAX)]
Count = Annotated[StrictInt, Field(ge=0, le=INTEGER_MAX)]
Money = Annotated[Decimal, Field(gt=-MONEY_LIMIT, lt=MONEY_LIMIT, allow_inf_nan=False)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Beds24Time = Annotated[str, Field(max_length=64), AfterValidator(_beds24_time)]


class Booking(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: Annotated[StrictInt, Field(gt=0, le=BIGINT_MAX)]
    propertyId: BigintId | None = None
    roomId: BigintId | None = None
    unitId: BigintId | None = None
    status: BookingStatus | None = None
    arrival: IsoDate | None = None
    departure: IsoDate | None = None
    numAdult: Count | None = None
    numChild: Count | None = None
    price: Money | None = None
    deposit: Money | None = None
    modifiedTime: Beds24Time | None = None


class WebhookV2(BaseModel):
    model_config = ConfigDict(extra="allow")

    booking: Booking
    timeStamp: str | None = None
    retries: int | None = None


class PingV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    bookid: int = Field(gt=0, le=BIGINT_MAX)
    status: V1Status | None = None

    @field_validator("bookid", mode="before")
    @classmethod
    def _digits_only(cls, value: Any) -> Any:
        """A query string's digits, nothing else: not ` 1`, `1_000`, `+1` or `1.0`."""
        if not (isinstance(value, str) and value.isascii() and value.isdigit()):
            raise ValueError("must be digits only")
        if len(value) > 19:
            raise ValueError("too many digits")
        return value


_ARRAY = TypeAdapter(list[WebhookV2])
# Most webhooks in one body (Beds24 sends one; an array is tolerated).
MAX_WEBHOOKS = 100


class Malformed(ValueError):
    """The body is not a V2 webhook; the message says where, never echoing guest data."""


def parse_v2(body: bytes) -> list[tuple[dict[str, Any], WebhookV2]]:
    """Each webhook of the body: (the raw object to store, its validated view).

    Everything is checked here, before Postgres sees anything: JSON that jsonb can hold
    (see channel_sync.json_input) and the fields the PMS stores within its columns."""
    try:
        raw = parse_json(body)
    except UnsafeJson as exc:
        raise Malformed(str(exc)) from None
    try:
        if not isinstance(raw, list):
            return [(raw, WebhookV2.model_validate(raw))]
        if not raw:
            raise Malformed("empty array")
        if len(raw) > MAX_WEBHOOKS:
            raise Malformed(f"more than {MAX_WEBHOOKS} webhooks in one body")
        return list(zip(raw, _ARRAY.validate_python(raw), strict=True))
    except ValidationError as exc:
        raise Malformed(_describe(exc)) from None


def parse_v1(query: dict[str, str]) -> PingV1:
    try:
        return PingV1.model_validate(query)
    except ValidationError as exc:
        raise Malformed(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """Field path and message of the first error; the input value is left out on purpose
    (and so is a key that is not a plain field name)."""
    first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
    where = ".".join(
        str(part) if isinstance(part, int) or _plain(part) else "?" for part in first["loc"]
    )
    return f"{where or 'body'}: {first['msg']}"


def _plain(name: str) -> bool:
    return name.isascii() and name.replace("_", "").isalnum() and len(name) <= 40
