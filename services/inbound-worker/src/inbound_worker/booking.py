"""A Beds24 booking read as the PMS reservation it becomes.

Only fields present in the booking become columns: a `twoNoPersonalData` webhook leaves the
guest out, and must not blank the guest the PMS already holds. Anything the PMS cannot take
raises PermanentError with a reason an operator can act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from channel_sync import pms_fields
from channel_sync.errors import PermanentError
from channel_sync.inbound import parse_beds24_time
from channel_sync.json_input import storable_text
from channel_sync.pms_limits import BIGINT_MAX, INTEGER_MAX, MONEY_LIMIT
from channel_sync.references import reservation_of_info_items, reservation_of_reference

from inbound_worker.stays.group import Group, stay_group

PMS_STATUS = {
    "new": "confirmed",
    "confirmed": "confirmed",
    "request": "tentative",
    "inquiry": "inquiry",
    "black": "blocked",
    "cancelled": "cancelled",
}
# Beds24 field -> reservations column, by kind (channel_sync.pms_fields); a text's None and
# "" both mean "no value".
TEXT_COLUMNS = {f.beds24: f.column for f in pms_fields.TEXT_FIELDS}
COLUMN_LIMITS = {f.column: f.limit for f in pms_fields.TEXT_FIELDS if f.limit is not None}
COUNT_COLUMNS = {f.beds24: f.column for f in pms_fields.COUNT_FIELDS}
MONEY_COLUMNS = {f.beds24: f.column for f in pms_fields.MONEY_FIELDS}
COUNTRY_COLUMN = pms_fields.COUNTRY_FIELD.column


@dataclass(frozen=True)
class Booking:
    booking_id: int
    beds24_property_id: int | None
    beds24_room_id: int | None
    beds24_unit_id: int | None
    status: str  # PMS status
    arrival: date
    departure: date
    modified_time: datetime | None
    columns: dict[str, Any]  # reservations columns this booking sets
    pms_reference: UUID | None = None  # the reservation our reference names, if it has one
    group: Group | None = None  # the multi-room stay it is part of (`stay_group`)

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"


def read_booking(raw: Mapping[str, Any]) -> Booking:
    booking_id = _positive_int(raw.get("id"), "id")
    if booking_id is None:
        raise PermanentError("the booking has no id")
    where = f"Beds24 booking {booking_id}"
    status = PMS_STATUS.get(str(raw.get("status") or "confirmed"))
    if status is None:
        raise PermanentError(f"{where}: unknown status {raw.get('status')!r}")
    arrival, departure = _date(raw, "arrival", where), _date(raw, "departure", where)
    if departure <= arrival:
        raise PermanentError(f"{where}: departure {departure} is not after arrival {arrival}")
    modified = _modified_time(raw, where)
    room_id = _positive_int(raw.get("roomId"), "roomId")
    columns: dict[str, Any] = {
        "status": status,
        "arrival": arrival,
        "departure": departure,
        "beds24_booking_id": booking_id,
        "beds24_modified_time": modified,
        "beds24_room_id": None if room_id is None else str(room_id),
    }
    columns.update(_text_columns(raw, where))
    if reservation_of_reference(columns.get("channel_reference")) is not None:
        # Our own `pms-<id>` on a booking we created is no channel's code: the PMS keeps
        # whatever reference it has (an OTA's code typed in, or none).
        del columns["channel_reference"]
    columns.update(_number_columns(raw, where))
    return Booking(
        booking_id=booking_id,
        beds24_property_id=_positive_int(raw.get("propertyId"), "propertyId"),
        beds24_room_id=room_id,
        beds24_unit_id=_positive_int(raw.get("unitId"), "unitId"),
        status=status,
        arrival=arrival,
        departure=departure,
        modified_time=modified,
        columns=columns,
        pms_reference=_pms_reference(raw),
        group=stay_group(raw, booking_id),
    )


def _pms_reference(raw: Mapping[str, Any]) -> UUID | None:
    """Our `pms-<id>` from apiReference or else from our info item: Beds24 may drop
    apiReference on API writes (UNCONFIRMED), and keeps an OTA's code there. `infoItems` is
    in a booking read with includeInfoItems; a V2 webhook carries it beside the booking."""
    ours = reservation_of_reference(raw.get("apiReference"))
    return ours if ours is not None else reservation_of_info_items(raw.get("infoItems"))


def _text_columns(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for field, column in TEXT_COLUMNS.items():
        if field in raw:
            value = raw[field]
            text = None if value is None or value == "" else str(value)
            if text is not None and not storable_text(text):
                raise PermanentError(f"{where}: {field} holds a NUL or an invalid character")
            limit = COLUMN_LIMITS.get(column)
            if text is not None and limit is not None and len(text) > limit:
                raise PermanentError(f"{where}: {field} is longer than {limit} characters")
            columns[column] = text
    if "country2" in raw or "country" in raw:  # the ISO code when Beds24 has one
        country = raw.get("country2") or raw.get("country") or None
        if country is not None and not (isinstance(country, str) and storable_text(country)):
            raise PermanentError(f"{where}: country is not text")
        columns[COUNTRY_COLUMN] = country
    return columns


def _number_columns(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for field, column in COUNT_COLUMNS.items():
        if raw.get(field) is not None:
            count = raw[field]
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise PermanentError(f"{where}: {field} is not a whole number >= 0")
            if count > INTEGER_MAX:
                raise PermanentError(
                    f"{where}: {field} {count} is more than the PMS can hold ({INTEGER_MAX})"
                )
            columns[column] = count
    for field, column in MONEY_COLUMNS.items():
        if field in raw:
            columns[column] = _money(raw[field], f"{where}: {field}")
    return columns


def _money(value: Any, what: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise PermanentError(f"{what} is not a number")
    try:
        amount = Decimal(str(value))
        if amount.is_finite() and abs(amount) < MONEY_LIMIT:
            amount = amount.quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise PermanentError(f"{what} is not a number") from exc
    if not amount.is_finite() or abs(amount) >= MONEY_LIMIT:
        raise PermanentError(f"{what} is out of range")
    return amount


def _date(raw: Mapping[str, Any], field: str, where: str) -> date:
    try:
        return date.fromisoformat(str(raw[field]))
    except (KeyError, ValueError) as exc:
        raise PermanentError(f"{where}: {field} is missing or not a date") from exc


def _modified_time(raw: Mapping[str, Any], where: str) -> datetime | None:
    value = raw.get("modifiedTime")
    if value in (None, ""):
        return None
    try:
        return parse_beds24_time(str(value))
    except ValueError as exc:
        raise PermanentError(f"{where}: modifiedTime {value!r} is not a time") from exc


def _positive_int(value: Any, field: str) -> int | None:
    """Beds24 ids; 0 and null both mean "none" (e.g. no unit assigned)."""
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= BIGINT_MAX:
        raise PermanentError(
            f"Beds24 booking field {field} is not an id (a whole number from 1 to 2^63-1)"
        )
    return value
