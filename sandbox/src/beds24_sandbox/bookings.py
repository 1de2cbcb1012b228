"""Bookings: field checks, create and modify as Beds24 answers them per item, and the
`GET /bookings` filters with their pitfalls (cancelled hidden without a status filter, only
upcoming stays without a date filter, comma-joined arrays refused)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from beds24_sandbox import inventory
from beds24_sandbox.state import SandboxState

STATUSES = ("confirmed", "request", "new", "cancelled", "black", "inquiry")
MAX_LENGTH = {"comments": 1000, "notes": 2000, "apiReference": 100, "message": 1000}
STR_FIELDS = frozenset(
    {
        "title",
        "firstName",
        "lastName",
        "email",
        "phone",
        "mobile",
        "fax",
        "company",
        "address",
        "city",
        "state",
        "postcode",
        "country",
        "country2",
        "comments",
        "notes",
        "message",
        "referer",
        "channel",
        "apiSource",
        "apiReference",
        "subStatus",
        "arrivalTime",
        "lang",
        *(f"custom{i}" for i in range(1, 11)),
    }
)
INT_FIELDS = frozenset(
    {"numAdult", "numChild", "roomQty", "unitId", "masterId", "bookingGroup", "apiSourceId"}
)
NUM_FIELDS = frozenset({"price", "deposit", "tax", "commission"})
LIST_FIELDS = frozenset({"infoItems", "invoiceItems"})
READ_ONLY = frozenset({"bookingTime", "modifiedTime", "cancelTime"})
# What a `twoNoPersonalData` webhook leaves out.
PERSONAL_FIELDS = frozenset(
    {
        "title",
        "firstName",
        "lastName",
        "email",
        "phone",
        "mobile",
        "fax",
        "company",
        "address",
        "city",
        "state",
        "postcode",
        "country",
        "country2",
        "comments",
        "notes",
        "message",
    }
)
ARRAY_PARAMS = ("id", "propertyId", "roomId", "masterId", "status")
DATE_PARAMS = ("arrivalFrom", "arrivalTo", "departureFrom", "departureTo")
TIME_PARAMS = ("modifiedFrom", "modifiedTo", "bookingTimeFrom", "bookingTimeTo")


class BadRequest(Exception):
    """Answered as HTTP 400 with Beds24's error body."""


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def fmt_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def stamp(booking: dict[str, Any]) -> None:
    """Bump modifiedTime; strictly later than before, so every version has its own stamp."""
    now = utc_now()
    previous = booking.get("modifiedTime")
    if previous and parse_time(previous) >= now:
        now = parse_time(previous) + timedelta(seconds=1)
    booking["modifiedTime"] = fmt_time(now)


def blank_booking() -> dict[str, Any]:
    booking: dict[str, Any] = {
        "id": None,
        "propertyId": None,
        "roomId": None,
        "unitId": None,
        "roomQty": 1,
        "status": "confirmed",
        "arrival": None,
        "departure": None,
        "numAdult": 1,
        "numChild": 0,
        "price": 0,
        "deposit": 0,
        "tax": 0,
        "commission": 0,
        "masterId": None,
        "bookingGroup": None,
        "apiSourceId": 0,
        "bookingTime": None,
        "modifiedTime": None,
        "cancelTime": None,
        "infoItems": [],
        "invoiceItems": [],
    }
    booking.update({name: "" for name in sorted(STR_FIELDS)})
    return booking


def check_field(key: str, value: Any) -> tuple[Any, str | None]:
    """(normalised value, None) or (None, Beds24-style message)."""
    if key in STR_FIELDS:
        if not isinstance(value, str):
            return None, "must be a string"
        limit = MAX_LENGTH.get(key, 255)
        return (value, None) if len(value) <= limit else (None, f"longer than {limit}")
    if key in INT_FIELDS:
        if value is None and key in ("masterId", "bookingGroup", "unitId"):
            return None, None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return None, "must be a whole number >= 0"
        if key == "roomQty" and value < 1:
            return None, "must be at least 1"
        return value, None
    if key in NUM_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, "must be a number"
        return value, None
    if key in ("arrival", "departure"):
        try:
            return date.fromisoformat(str(value)).isoformat(), None
        except ValueError:
            return None, "must be a date YYYY-MM-DD"
    if key == "status":
        return (value, None) if value in STATUSES else (None, f"must be one of {STATUSES}")
    if key in LIST_FIELDS:
        ok = isinstance(value, list) and all(isinstance(v, dict) for v in value)
        return (value, None) if ok else (None, "must be an array of objects")
    return None, "unknown field"


def create(
    state: SandboxState,
    item: dict[str, Any],
    *,
    account_id: int | None,
    defaults: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(result object, created booking or None). Nothing is stored when any check fails."""
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    booking = blank_booking()
    booking.update(defaults or {})
    for key, value in item.items():
        if key in ("actions", "propertyId", "roomId") or key in READ_ONLY:
            continue
        normal, problem = check_field(key, value)
        if problem == "unknown field" or _reference_ignored(state, key, account_id):
            warnings.append({"action": "create", "field": key, "message": "field ignored"})
        elif problem:
            errors.append({"action": "create", "field": key, "message": f"{key} {problem}"})
        else:
            booking[key] = normal
    room_id = item.get("roomId")
    room = state.room_of_account(room_id, account_id) if isinstance(room_id, int) else None
    if room is None:
        errors.append(
            {
                "action": "create",
                "field": "roomId",
                "message": f"roomId {room_id!r} not found or not yours",
            }
        )
    elif item.get("propertyId") not in (None, room.property_id):
        errors.append(
            {"action": "create", "field": "propertyId", "message": "propertyId does not own roomId"}
        )
    for key in ("arrival", "departure"):
        if key not in item:
            errors.append({"action": "create", "field": key, "message": f"{key} is required"})
    if not errors and booking["departure"] <= booking["arrival"]:
        errors.append(
            {"action": "create", "field": "departure", "message": "departure must be after arrival"}
        )
    if not errors and room is not None:
        booking.update(propertyId=room.property_id, roomId=room.id)
        _check_units(state, booking, item, "create", errors)
    if errors:
        return {"success": False, "errors": errors, **_maybe(warnings)}, None
    booking["id"] = state.next_booking_id()
    booking["bookingTime"] = fmt_time(utc_now())
    stamp(booking)
    state.bookings[booking["id"]] = booking
    posted = {k: v for k, v in item.items() if k != "actions"}
    return {"success": True, "new": {**posted, "id": booking["id"]}, **_maybe(warnings)}, booking


def modify(
    state: SandboxState, item: dict[str, Any], *, account_id: int | None
) -> tuple[dict[str, Any], dict[str, Any] | None, str | None]:
    """(result, booking, change) where change is "modify"/"cancel" or None when unchanged.

    Fields are checked one by one: valid ones are applied even when others fail, so a
    `success: false` answer can still carry `modified` (as Beds24 warns).
    """
    booking_id = item.get("id")
    booking = state.bookings.get(booking_id) if isinstance(booking_id, int) else None
    owner = state.properties[booking["propertyId"]].account_id if booking else None
    if account_id is not None and owner != account_id:
        booking = None
    if booking is None:
        error = {"action": "modify", "field": "id", "message": f"booking {booking_id!r} not found"}
        return {"success": False, "errors": [error]}, None, None
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    changes: dict[str, Any] = {}
    for key, value in item.items():
        if key in ("id", "actions", "propertyId") or key in READ_ONLY:
            continue
        if key == "roomId":
            room = state.room_of_account(value, account_id) if isinstance(value, int) else None
            if room is None:
                errors.append(
                    {
                        "action": "modify",
                        "field": "roomId",
                        "message": f"roomId {value!r} not found or not yours",
                    }
                )
            else:
                changes.update(roomId=room.id, propertyId=room.property_id)
            continue
        normal, problem = check_field(key, value)
        if problem == "unknown field" or _reference_ignored(state, key, account_id):
            warnings.append({"action": "modify", "field": key, "message": "field ignored"})
        elif problem:
            errors.append({"action": "modify", "field": key, "message": f"{key} {problem}"})
        else:
            changes[key] = normal
    arrival = changes.get("arrival", booking["arrival"])
    departure = changes.get("departure", booking["departure"])
    if departure <= arrival:
        errors.append(
            {"action": "modify", "field": "departure", "message": "departure must be after arrival"}
        )
        changes.pop("arrival", None)
        changes.pop("departure", None)
    changed = {k: v for k, v in changes.items() if booking.get(k) != v}
    if changed and _occupancy_changes(booking, changed):
        trial = {**booking, **changed}
        if _check_units(state, trial, item, "modify", errors):
            changed["unitId"] = trial["unitId"]
        else:
            changed = {k: v for k, v in changed.items() if not _occupancy_key(k)}
    result: dict[str, Any] = {"success": not errors, **_maybe(warnings)}
    if errors:
        result["errors"] = errors
    if not changed:
        if not errors:
            result["modified"] = {"id": booking["id"]}
        return result, booking, None
    was_cancelled = booking["status"] == "cancelled"
    booking.update(changed)
    stamp(booking)
    result["modified"] = {"id": booking["id"], **changed}
    cancelled_now = booking["status"] == "cancelled" and not was_cancelled
    return result, booking, "cancel" if cancelled_now else "modify"


def _reference_ignored(state: SandboxState, key: str, account_id: int | None) -> bool:
    """Whether Beds24 takes apiReference on API writes is unconfirmed: both can be played."""
    return (
        key == "apiReference"
        and account_id is not None
        and (not state.config.api_reference_writable)
    )


def _occupancy_key(key: str) -> bool:
    return key in ("roomId", "propertyId", "arrival", "departure", "status", "roomQty", "unitId")


def _occupancy_changes(booking: dict[str, Any], changed: dict[str, Any]) -> bool:
    return any(_occupancy_key(k) for k in changed)


def _check_units(
    state: SandboxState,
    booking: dict[str, Any],
    item: dict[str, Any],
    action: str,
    errors: list[dict[str, Any]],
) -> bool:
    """With `checkAvailability`, refuse when any night is full; pick a free unit if none given."""
    room = state.rooms[booking["roomId"]]
    stay = inventory.nights(
        date.fromisoformat(booking["arrival"]), date.fromisoformat(booking["departure"])
    )
    raw_actions = item.get("actions")
    actions: dict[str, Any] = raw_actions if isinstance(raw_actions, dict) else {}
    if actions.get("checkAvailability") and booking["status"] in inventory.OCCUPYING:
        need = int(booking.get("roomQty") or 1)
        if any(inventory.num_avail(state, room, d, ignore=booking["id"]) < need for d in stay):
            errors.append(
                {"action": action, "field": "arrival", "message": "no availability for these dates"}
            )
            return False
    unit = booking.get("unitId")
    if unit is not None and not 1 <= unit <= room.qty:
        errors.append({"action": action, "field": "unitId", "message": "unknown unitId"})
        return False
    if "unitId" not in item:
        booking["unitId"] = _free_unit(state, room.id, room.qty, stay, booking["id"])
    return True


def _free_unit(
    state: SandboxState, room_id: int, qty: int, stay: Sequence[date], ignore: int | None
) -> int:
    taken: set[int] = set()
    for other in state.bookings.values():
        if other["id"] == ignore or other["roomId"] != room_id:
            continue
        if other["status"] not in inventory.OCCUPYING or other.get("unitId") is None:
            continue
        first, last = date.fromisoformat(other["arrival"]), date.fromisoformat(other["departure"])
        if any(first <= d < last for d in stay):
            taken.add(other["unitId"])
    return next((u for u in range(1, qty + 1) if u not in taken), 1)


def _maybe(warnings: list[dict[str, Any]]) -> dict[str, Any]:
    return {"warnings": warnings} if warnings else {}


# -- GET /bookings ----------------------------------------------------------------------------
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
