"""`GET /bookings` filters as the official file lists them, each applied, with the
pitfalls: cancelled hidden without a status filter, only upcoming stays without a date
filter, comma-joined arrays refused. Unknown parameters are ignored, as Beds24 does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from beds24_sandbox import booking_groups
from beds24_sandbox.booking_fields import CHANNELS, STATUSES, parse_time, utc_now
from beds24_sandbox.state import SandboxState

ARRAY_PARAMS = ("id", "propertyId", "roomId", "masterId", "status", "apiReference")
INT_PARAMS = ("id", "propertyId", "roomId", "masterId")
DATE_PARAMS = ("arrival", "arrivalFrom", "arrivalTo", "departure", "departureFrom", "departureTo")
TIME_PARAMS = ("modifiedFrom", "modifiedTo", "bookingTimeFrom", "bookingTimeTo")
FILTERS = ("arrivals", "departures", "new", "current")
# With a `filter` and no `status`, only these statuses (the official default for filters).
FILTER_STATUSES = ("confirmed", "new", "request")
INCLUDES = ("includeInfoItems", "includeInvoiceItems", "includeGuests", "includeBookingGroup")
SEARCHED_FIELDS = ("firstName", "lastName", "email", "apiReference")


class BadRequest(Exception):
    """Answered as HTTP 400 with Beds24's error body."""


@dataclass
class Query:
    ints: dict[str, set[int]] = field(default_factory=dict)
    statuses: list[str] = field(default_factory=list)
    references: set[str] = field(default_factory=set)
    dates: dict[str, date] = field(default_factory=dict)
    times: dict[str, datetime] = field(default_factory=dict)
    channel: str | None = None
    search: str | None = None
    filter: str | None = None


def search(
    state: SandboxState, account_id: int, query: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Every booking matching the query, in id order; raises BadRequest like Beds24."""
    parsed = parse(query)
    own = {p.id for p in state.properties_of(account_id)}
    now = utc_now()
    return [
        booking
        for booking in sorted(state.bookings.values(), key=lambda b: b["id"])
        if booking["propertyId"] in own and matches(booking, parsed, now)
    ]


def parse(query: list[tuple[str, str]]) -> Query:
    values: dict[str, list[str]] = {}
    for key, value in query:
        values.setdefault(key, []).append(value)
    for key in ARRAY_PARAMS:
        if any("," in v for v in values.get(key, [])):
            raise BadRequest(f"{key}: use repeated parameters, not a comma-separated list")
    v = values
    parsed = Query(
        ints={key: _ints(key, values.get(key, [])) for key in INT_PARAMS},
        statuses=values.get("status", []),
        references=set(values.get("apiReference", [])),
        dates={k: _parsed(k, values[k][-1], date.fromisoformat) for k in DATE_PARAMS if k in v},
        times={k: _parsed(k, values[k][-1], parse_time) for k in TIME_PARAMS if k in v},
        channel=values["channel"][-1] if "channel" in values else None,
        search=values["searchString"][-1].strip().lower() if "searchString" in values else None,
        filter=values["filter"][-1] if "filter" in values else None,
    )
    for status in parsed.statuses:
        if status not in STATUSES:
            raise BadRequest(f"status: unknown value {status!r}")
    if parsed.channel is not None and parsed.channel not in CHANNELS:
        raise BadRequest(f"channel: unknown value {parsed.channel!r}")
    if parsed.filter is not None and parsed.filter not in FILTERS:
        raise BadRequest(f"filter: one of {', '.join(FILTERS)}")
    return parsed


def matches(booking: dict[str, Any], query: Query, now: datetime) -> bool:
    today = now.date()
    for key, wanted in query.ints.items():
        if wanted and booking.get(key) not in wanted:
            return False
    statuses = query.statuses or (FILTER_STATUSES if query.filter else ())
    if statuses and booking["status"] not in statuses:
        return False
    if not statuses and booking["status"] == "cancelled":
        return False  # pitfall: cancelled bookings only when asked for by status
    if query.references and booking.get("apiReference") not in query.references:
        return False
    if query.channel is not None and booking.get("channel") != query.channel:
        return False
    if query.search and not _found_by(booking, query.search):
        return False
    arrival = date.fromisoformat(booking["arrival"])
    departure = date.fromisoformat(booking["departure"])
    if not _within_dates(arrival, departure, query.dates):
        return False
    for prefix, field_name in (("modified", "modifiedTime"), ("bookingTime", "bookingTime")):
        stamp_value = parse_time(booking[field_name])
        if f"{prefix}From" in query.times and stamp_value < query.times[f"{prefix}From"]:
            return False
        if f"{prefix}To" in query.times and stamp_value > query.times[f"{prefix}To"]:
            return False
    if query.filter is not None:
        return _filtered(booking, query.filter, arrival, departure, now)
    # Pitfall: without any date filter only upcoming stays (departure today or later).
    return bool(query.dates or query.times or departure >= today)


def _within_dates(arrival: date, departure: date, dates: dict[str, date]) -> bool:
    checks = {
        "arrival": arrival == dates.get("arrival", arrival),
        "arrivalFrom": arrival >= dates.get("arrivalFrom", date.min),
        "arrivalTo": arrival <= dates.get("arrivalTo", date.max),
        "departure": departure == dates.get("departure", departure),
        "departureFrom": departure >= dates.get("departureFrom", date.min),
        "departureTo": departure <= dates.get("departureTo", date.max),
    }
    return all(checks.values())


def _filtered(
    booking: dict[str, Any], name: str, arrival: date, departure: date, now: datetime
) -> bool:
    """The official `filter` values (the sandbox's time zone is UTC)."""
    today = now.date()
    if name == "arrivals":
        return arrival == today
    if name == "departures":
        return departure == today
    if name == "new":
        return parse_time(booking["bookingTime"]) >= now - timedelta(hours=24)
    return arrival <= today <= departure  # current


def _found_by(booking: dict[str, Any], needle: str) -> bool:
    """`searchString` matches the guest's name, email, apiReference or the booking id."""
    if needle == str(booking["id"]):
        return True
    full_name = f"{booking.get('firstName', '')} {booking.get('lastName', '')}"
    texts = [str(booking.get(name) or "") for name in SEARCHED_FIELDS] + [full_name]
    return any(needle in text.lower() for text in texts)


def _ints(key: str, raw: list[str]) -> set[int]:
    try:
        return {int(v) for v in raw}
    except ValueError:
        raise BadRequest(f"{key}: expected whole numbers") from None


def _parsed(key: str, raw: str, parser: Callable[[str], Any]) -> Any:
    try:
        return parser(raw)
    except ValueError:
        raise BadRequest(f"{key}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS") from None


def public(state: SandboxState, booking: dict[str, Any], included: set[str]) -> dict[str, Any]:
    """A booking as `GET /bookings` shows it under the given `includeX` flags."""
    out = dict(booking)
    if "includeInfoItems" not in included:
        out.pop("infoItems", None)
    if "includeInvoiceItems" not in included:
        out.pop("invoiceItems", None)
    if "includeBookingGroup" in included:
        out["bookingGroup"] = booking_groups.group_of(state, booking)
    if "includeGuests" in included:
        out["guests"] = []  # the file marks guest records "coming soon"
    return out
