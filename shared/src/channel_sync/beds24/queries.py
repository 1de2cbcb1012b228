"""Query strings for `GET /bookings` (the official filters): arrays as repeated keys, never
comma-joined (400)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Literal

# Every status Beds24 knows; cancelled ones are hidden unless listed explicitly.
ALL_STATUSES = ("confirmed", "request", "new", "cancelled", "black", "inquiry")
# Any date filter lifts the "only upcoming bookings" default; this one matches every booking.
EVERY_ARRIVAL = date(2000, 1, 1)

Params = list[tuple[str, str]]
Statuses = Literal["all"] | list[str] | tuple[str, ...] | None
# The official `filter` values: arriving today, departing today, made in the last 24 h,
# staying today.
BookingFilter = Literal["arrivals", "departures", "new", "current"]


def format_datetime(value: datetime) -> str:
    """Beds24 reads `YYYY-MM-DDTHH:MM:SS` in UTC; naive values are taken as UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def _repeat(params: Params, key: str, values: Iterable[object] | None) -> None:
    for value in values or ():
        text = str(value)
        if "," in text:
            raise ValueError(f"{key} values may not contain commas: {text!r}")
        params.append((key, text))


def booking_params(
    *,
    property_ids: Iterable[int] | None = None,
    ids: Iterable[int] | None = None,
    room_ids: Iterable[int] | None = None,
    master_ids: Iterable[int] | None = None,
    api_reference: str | None = None,
    search: str | None = None,
    channel: str | None = None,
    booking_filter: BookingFilter | None = None,
    statuses: Statuses = None,
    modified_from: datetime | None = None,
    arrival: date | None = None,
    arrival_from: date | None = None,
    arrival_to: date | None = None,
    departure: date | None = None,
    departure_from: date | None = None,
    departure_to: date | None = None,
) -> Params:
    params: Params = []
    _repeat(params, "propertyId", property_ids)
    _repeat(params, "id", ids)
    _repeat(params, "roomId", room_ids)
    _repeat(params, "masterId", master_ids)
    _repeat(params, "apiReference", [api_reference] if api_reference is not None else None)
    for key, text in (("searchString", search), ("channel", channel), ("filter", booking_filter)):
        if text is not None:
            params.append((key, text))
    _repeat(params, "status", ALL_STATUSES if statuses == "all" else statuses)
    if modified_from is not None:
        params.append(("modifiedFrom", format_datetime(modified_from)))
    dates = {
        "arrival": arrival,
        "departure": departure,
        "arrivalFrom": arrival_from,
        "arrivalTo": arrival_to,
        "departureFrom": departure_from,
        "departureTo": departure_to,
    }
    for key, value in dates.items():
        if value is not None:
            params.append((key, value.isoformat()))
    has_date_filter = (
        modified_from is not None
        or booking_filter is not None
        or any(v is not None for v in dates.values())
    )
    looks_up_identity = ids is not None or api_reference is not None or search is not None
    if looks_up_identity and not has_date_filter:
        # A lookup by id, reference or search must also find past stays, which Beds24
        # hides when no date filter is given.
        params.append(("arrivalFrom", EVERY_ARRIVAL.isoformat()))
    return params
