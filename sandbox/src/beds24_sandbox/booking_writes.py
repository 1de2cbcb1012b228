"""Create and modify bookings as Beds24 answers them, item by item."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from beds24_sandbox import booking_groups, info_items, inventory
from beds24_sandbox.booking_fields import (
    AVAILABILITY_FIELDS,
    READ_ONLY,
    blank_booking,
    check_field,
    fmt_time,
    stamp,
    utc_now,
)
from beds24_sandbox.state import SandboxState


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
        if key == "infoItems":
            _create_info_items(state, booking, value, errors)
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
    master_problem = booking_groups.check_master(
        state, booking["masterId"], state.owner_of, account_id
    )
    if master_problem:
        errors.append({"action": "create", "field": "masterId", "message": master_problem})
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
    info_items.stamp_booking_id(booking["infoItems"], booking["id"])
    booking_groups.adopt_master(state, booking["masterId"])
    booking["bookingTime"] = fmt_time(utc_now())
    stamp(booking, state.config.frozen_modified_time)
    state.bookings[booking["id"]] = booking
    posted = {k: v for k, v in item.items() if k != "actions"}
    return {"success": True, "new": {**posted, "id": booking["id"]}, **_maybe(warnings)}, booking


def modify(
    state: SandboxState, item: dict[str, Any], *, account_id: int | None
) -> tuple[dict[str, Any], dict[str, Any] | None, str | None, frozenset[str]]:
    """(result, booking, change, changed fields) where change is "modify"/"cancel" or None
    when unchanged.

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
        return {"success": False, "errors": [error]}, None, None, frozenset()
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
        if key == "infoItems":
            _modify_info_items(state, booking, value, changes, errors)
            continue
        normal, problem = check_field(key, value)
        if problem == "unknown field" or _reference_ignored(state, key, account_id):
            warnings.append({"action": "modify", "field": key, "message": "field ignored"})
        elif problem:
            errors.append({"action": "modify", "field": key, "message": f"{key} {problem}"})
        elif key == "masterId" and (
            problem := booking_groups.check_master(state, normal, state.owner_of, account_id)
        ):
            errors.append({"action": "modify", "field": key, "message": problem})
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
        return result, booking, None, frozenset()
    was_cancelled = booking["status"] == "cancelled"
    booking.update(changed)
    booking_groups.adopt_master(state, changed.get("masterId"))
    stamp(booking, state.config.frozen_modified_time)
    result["modified"] = {"id": booking["id"], **changed}
    cancelled_now = booking["status"] == "cancelled" and not was_cancelled
    return result, booking, "cancel" if cancelled_now else "modify", frozenset(changed)


def fires_webhook(change_fields: frozenset[str], *, created: bool) -> bool:
    """Under `allowWebhooks`, only a new booking or a change of availability fires."""
    return created or bool(change_fields & AVAILABILITY_FIELDS)


def _create_info_items(
    state: SandboxState, booking: dict[str, Any], value: Any, errors: list[dict[str, Any]]
) -> None:
    if not isinstance(value, list):
        errors.append({"action": "create", "field": "infoItems", "message": "must be an array"})
        return
    if any(isinstance(v, dict) and "id" in v for v in value):
        message = "a new booking has no info items to modify or delete"
        errors.append({"action": "create", "field": "infoItems", "message": message})
        return
    items, problem = info_items.apply(state, 0, [], value)
    if problem:
        errors.append({"action": "create", "field": "infoItems", "message": problem})
    booking["infoItems"] = items


def _modify_info_items(
    state: SandboxState,
    booking: dict[str, Any],
    value: Any,
    changes: dict[str, Any],
    errors: list[dict[str, Any]],
) -> None:
    if not isinstance(value, list):
        errors.append({"action": "modify", "field": "infoItems", "message": "must be an array"})
        return
    items, problem = info_items.apply(state, booking["id"], booking["infoItems"], value)
    if problem:
        errors.append({"action": "modify", "field": "infoItems", "message": problem})
    else:
        changes["infoItems"] = items


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
    """With `checkAvailability` on a create, refuse when any night is full; pick a free unit
    if none given."""
    room = state.rooms[booking["roomId"]]
    stay = inventory.nights(
        date.fromisoformat(booking["arrival"]), date.fromisoformat(booking["departure"])
    )
    raw_actions = item.get("actions")
    actions: dict[str, Any] = raw_actions if isinstance(raw_actions, dict) else {}
    # Officially for new bookings only: a modify is never refused for availability.
    new = action == "create"
    if new and actions.get("checkAvailability") and booking["status"] in inventory.OCCUPYING:
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
