"""Availability: a room's quantity minus its active bookings, night by night (negative when
overbooked); a pushed `numAvail` can lower that but never exceed it; a blackout night is
unavailable, and lifting it without a `numAvail` restores the full count."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from beds24_sandbox.booking_fields import CHANNELS
from beds24_sandbox.state import Room, SandboxState

# Statuses that hold a unit (a cancelled booking or an inquiry does not).
OCCUPYING = frozenset({"confirmed", "new", "request", "black"})
PRICE_KEYS = tuple(f"price{i}" for i in range(1, 17))
SETTING_KEYS = frozenset(
    {"numAvail", "minStay", "maxStay", "multiplier", "override", "channels", *PRICE_KEYS}
)
OVERRIDES = frozenset(
    {"none", "blackout", "exception", "noCheckIn", "noCheckOut", "noCheckInOrCheckOut"}
)
# Channels whose bookings a calendar day can cap (`channels.<channel>.maxBookings`).
LIMITED_CHANNELS = frozenset(
    [
        "agoda",
        "airbnb",
        "asiatravel",
        "atraveode",
        "booking",
        "despegar",
        "edreamsodigeo",
        "expedia",
        "feratel",
        "goibibo",
        "hometogo",
        "hostelworld",
        "hotelbeds",
        "hrs",
        "jomres",
        "marriott",
        "ostrovokru",
        "ota",
        "reserva",
        "tiket",
        "tomastravel",
        "traveloka",
        "travia",
        "traum",
        "trip",
        "tripadvisorrentals",
        "vacationstay",
        "vrbo",
    ]
)
assert LIMITED_CHANNELS <= CHANNELS


def nights(arrival: date, departure: date) -> list[date]:
    return [arrival + timedelta(days=i) for i in range((departure - arrival).days)]


def booked(state: SandboxState, room_id: int, day: date, *, ignore: int | None = None) -> int:
    """Units of `room_id` held on the night of `day` (optionally not counting one booking)."""
    total = 0
    for booking in state.bookings.values():
        if booking["roomId"] != room_id or booking["status"] not in OCCUPYING:
            continue
        if booking["id"] == ignore:
            continue
        if date.fromisoformat(booking["arrival"]) <= day < date.fromisoformat(booking["departure"]):
            total += int(booking.get("roomQty") or 1)
    return total


def capacity(state: SandboxState, room: Room, day: date, *, ignore: int | None = None) -> int:
    """Units left: negative when the night is overbooked (that is how Beds24 shows it)."""
    return room.qty - booked(state, room.id, day, ignore=ignore)


def num_avail(state: SandboxState, room: Room, day: date, *, ignore: int | None = None) -> int:
    settings = state.calendar.get((room.id, day), {})
    free = capacity(state, room, day, ignore=ignore)
    if settings.get("override") == "blackout":
        return min(free, 0)
    if state.config.zero_without_price and settings.get("price1") is None:
        return min(free, 0)
    pushed = settings.get("numAvail")
    return free if pushed is None else min(int(pushed), free)


def channel_full(state: SandboxState, booking: dict[str, Any]) -> bool:
    """Whether a channel's booking would pass that channel's `maxBookings` on a night."""
    channel = booking.get("channel")
    stay = nights(date.fromisoformat(booking["arrival"]), date.fromisoformat(booking["departure"]))
    for day in stay:
        limit = (state.calendar.get((booking["roomId"], day), {}).get("channels") or {}).get(
            channel
        )
        if limit is None:
            continue
        taken = sum(
            int(other.get("roomQty") or 1)
            for other in state.bookings.values()
            if other["roomId"] == booking["roomId"]
            and other.get("channel") == channel
            and other["status"] in OCCUPYING
            and other["id"] != booking.get("id")
            and date.fromisoformat(other["arrival"]) <= day < date.fromisoformat(other["departure"])
        )
        if taken + int(booking.get("roomQty") or 1) > limit:
            return True
    return False


def day_values(state: SandboxState, room: Room, day: date, flags: set[str]) -> dict[str, Any]:
    """What `GET /inventory/rooms/calendar` shows for one day under the include flags."""
    settings = state.calendar.get((room.id, day), {})
    values: dict[str, Any] = {}
    if "includeNumAvail" in flags:
        values["numAvail"] = num_avail(state, room, day)
    if "includeMinStay" in flags:  # unset: the room's own limit, as the file says
        values["minStay"] = settings.get("minStay", room.min_stay)
    if "includeMaxStay" in flags:
        values["maxStay"] = settings.get("maxStay", room.max_stay)
    if "includeMultiplier" in flags:
        values["multiplier"] = settings.get("multiplier", 1)
    if "includeOverride" in flags:
        values["override"] = settings.get("override", "none")
    if "includePrices" in flags:
        values.update({k: settings[k] for k in PRICE_KEYS if settings.get(k) is not None})
    if "includeChannels" in flags and settings.get("channels"):
        values["channels"] = {
            name: {"maxBookings": limit} for name, limit in sorted(settings["channels"].items())
        }
    return values


def compress(days: list[tuple[date, dict[str, Any]]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for day, values in days:
        last = out[-1] if out else None
        if (
            last is not None
            and date.fromisoformat(last["to"]) + timedelta(days=1) == day
            and {k: v for k, v in last.items() if k not in ("from", "to")} == values
        ):
            last["to"] = day.isoformat()
        else:
            out.append({"from": day.isoformat(), "to": day.isoformat(), **values})
    return out


def apply_calendar_item(state: SandboxState, item: Any, account_id: int) -> dict[str, Any]:
    """Validate and apply one item of `POST /inventory/rooms/calendar`; its result object."""
    errors: list[dict[str, Any]] = []

    def fail(field_name: str, message: str) -> dict[str, Any]:
        errors.append({"action": "modify", "field": field_name, "message": message})
        return {"success": False, "errors": errors}

    if not isinstance(item, dict):
        return fail("item", "item must be an object")
    room_id = item.get("roomId")
    room = state.room_of_account(room_id, account_id) if isinstance(room_id, int) else None
    if room is None:
        return fail("roomId", f"roomId {room_id!r} not found")
    ranges = item.get("calendar")
    if not isinstance(ranges, list) or not ranges:
        return fail("calendar", "calendar must be a non-empty array")
    changes: list[tuple[date, dict[str, Any]]] = []
    for entry in ranges:
        if not isinstance(entry, dict):
            return fail("calendar", "calendar entries must be objects")
        try:
            start = date.fromisoformat(str(entry.get("from")))
            end = date.fromisoformat(str(entry.get("to", entry.get("from"))))
        except ValueError:
            return fail("from", "from/to must be dates YYYY-MM-DD")
        if end < start:
            return fail("to", "to is before from")
        if (end - start).days > 3 * 366:
            return fail("to", "range longer than three years")
        values = {k: v for k, v in entry.items() if k not in ("from", "to")}
        unknown = set(values) - SETTING_KEYS
        if unknown:
            return fail(sorted(unknown)[0], "unknown calendar field")
        problem = _bad_value(values)
        if problem:
            return fail(*problem)
        changes += [(start + timedelta(days=i), values) for i in range((end - start).days + 1)]
    for day, values in changes:
        current = state.calendar.setdefault((room.id, day), {})
        lifted = "override" in values and values["override"] != "blackout"
        if lifted and current.get("override") == "blackout" and "numAvail" not in values:
            current.pop("numAvail", None)  # blackout lifted: back to the maximum possible
        for key, value in values.items():
            if key == "channels":
                _set_channel_limits(current, value)
            elif value is None:
                current.pop(key, None)  # null removes a setting
            else:
                current[key] = value
    return {"success": True, "modified": {"roomId": room.id, "calendar": ranges}}


def _set_channel_limits(current: dict[str, Any], channels: dict[str, Any]) -> None:
    limits = dict(current.get("channels") or {})
    for name, setting in channels.items():
        if setting.get("maxBookings") is None:
            limits.pop(name, None)  # null removes the limit
        else:
            limits[name] = setting["maxBookings"]
    if limits:
        current["channels"] = limits
    else:
        current.pop("channels", None)


def _bad_channels(value: Any) -> tuple[str, str] | None:
    if not isinstance(value, dict):
        return "channels", "channels must be an object of {channel: {maxBookings}}"
    for name, setting in value.items():
        if name not in LIMITED_CHANNELS:
            return "channels", f"channels: {name!r} is not a channel the calendar can limit"
        if not isinstance(setting, dict) or set(setting) != {"maxBookings"}:
            return "channels", f"channels.{name} takes maxBookings only"
        limit = setting["maxBookings"]
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            return "channels", f"channels.{name}.maxBookings must be a whole number or null"
        if limit is not None and limit < 0:
            return "channels", f"channels.{name}.maxBookings must be >= 0"
    return None


def _bad_value(values: dict[str, Any]) -> tuple[str, str] | None:
    for key, value in values.items():
        if key == "channels":
            problem = _bad_channels(value)
            if problem:
                return problem
            continue
        if value is None:
            continue
        if key in ("numAvail", "minStay", "maxStay"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                return key, f"{key} must be a whole number >= 0"
        elif key == "override":
            if value not in OVERRIDES:
                return key, f"override must be one of {sorted(OVERRIDES)}"
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            return key, f"{key} must be a number >= 0"
    return None
