"""`GET /bookings` filters with their pitfalls: cancelled hidden without a status filter,
only upcoming stays without a date filter, comma-joined arrays refused."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from beds24_sandbox.booking_fields import STATUSES, parse_time, utc_now
from beds24_sandbox.state import SandboxState

ARRAY_PARAMS = ("id", "propertyId", "roomId", "masterId", "status")
DATE_PARAMS = ("arrivalFrom", "arrivalTo", "departureFrom", "departureTo")
TIME_PARAMS = ("modifiedFrom", "modifiedTo", "bookingTimeFrom", "bookingTimeTo")


class BadRequest(Exception):
    """Answered as HTTP 400 with Beds24's error body."""


def search(
    state: SandboxState, account_id: int, query: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Every booking matching the query, in id order; raises BadRequest like Beds24."""
    values: dict[str, list[str]] = {}
    for key, value in query:
        values.setdefault(key, []).append(value)
    for key in ARRAY_PARAMS:
        if any("," in v for v in values.get(key, [])):
            raise BadRequest(f"{key}: use repeated parameters, not a comma-separated list")
    ints = {key: _ints(key, values.get(key, [])) for key in ARRAY_PARAMS if key != "status"}
    statuses = values.get("status", [])
    for status in statuses:
        if status not in STATUSES:
            raise BadRequest(f"status: unknown value {status!r}")
    dates = {k: _date(k, values[k][-1]) for k in DATE_PARAMS if k in values}
    times = {k: _time(k, values[k][-1]) for k in TIME_PARAMS if k in values}
    references = set(values.get("apiReference", []))
    own = {p.id for p in state.properties_of(account_id)}
    today = utc_now().date()
    found = []
    for booking in sorted(state.bookings.values(), key=lambda b: b["id"]):
        if booking["propertyId"] not in own:
            continue
        if not _matches(booking, ints, statuses, references, dates, times, today):
            continue
        found.append(booking)
    return found


def _matches(
    booking: dict[str, Any],
    ints: dict[str, set[int]],
    statuses: list[str],
    references: set[str],
    dates: dict[str, date],
    times: dict[str, datetime],
    today: date,
) -> bool:
    for key, wanted in ints.items():
        if wanted and booking.get(key) not in wanted:
            return False
    if statuses and booking["status"] not in statuses:
        return False
    if not statuses and booking["status"] == "cancelled":
        return False  # pitfall: cancelled bookings only when asked for by status
    if references and booking.get("apiReference") not in references:
        return False
    arrival = date.fromisoformat(booking["arrival"])
    departure = date.fromisoformat(booking["departure"])
    bounds = {
        "arrivalFrom": arrival >= dates.get("arrivalFrom", date.min),
        "arrivalTo": arrival <= dates.get("arrivalTo", date.max),
        "departureFrom": departure >= dates.get("departureFrom", date.min),
        "departureTo": departure <= dates.get("departureTo", date.max),
    }
    if not all(bounds.values()):
        return False
    for prefix, field_name in (("modified", "modifiedTime"), ("bookingTime", "bookingTime")):
        stamp_value = parse_time(booking[field_name])
        if f"{prefix}From" in times and stamp_value < times[f"{prefix}From"]:
            return False
        if f"{prefix}To" in times and stamp_value > times[f"{prefix}To"]:
            return False
    # Pitfall: without any date filter only upcoming stays (departure today or later).
    return bool(dates or times or departure >= today)


def _ints(key: str, raw: list[str]) -> set[int]:
    try:
        return {int(v) for v in raw}
    except ValueError:
        raise BadRequest(f"{key}: expected whole numbers") from None


def _date(key: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{key}: expected YYYY-MM-DD") from None


def _time(key: str, raw: str) -> datetime:
    try:
        return parse_time(raw)
    except ValueError:
        raise BadRequest(f"{key}: expected YYYY-MM-DDTHH:MM:SS") from None


def public(booking: dict[str, Any], *, info: bool = True, invoice: bool = True) -> dict[str, Any]:
    out = dict(booking)
    if not info:
        out.pop("infoItems", None)
    if not invoice:
        out.pop("invoiceItems", None)
    return out
