"""Bookings paths: GET with Beds24's filters, POST as a batch answered per item, DELETE."""

from __future__ import annotations

from typing import Any

from beds24_sandbox import booking_groups, booking_search, booking_writes, credits
from beds24_sandbox.pipeline import Answer, Call, Refused, flag, paged
from beds24_sandbox.webhooks import Delivery


def get_bookings(call: Call) -> Answer:
    assert call.account is not None
    state = call.sandbox.state
    found = booking_search.search(state, call.account.id, call.query)
    included = {name for name in booking_search.INCLUDES if flag(call, name)}
    shown = [booking_search.public(state, b, included) for b in found]
    return paged(call, "booking", shown)


def post_bookings(call: Call) -> Answer:
    assert call.account is not None and call.items is not None
    sandbox, state = call.sandbox, call.sandbox.state
    results = []
    grouped: list[dict[str, Any]] = []
    fired: list[tuple[dict[str, Any], str]] = []
    for item in call.items:
        if not isinstance(item, dict):
            results.append(
                {
                    "success": False,
                    "errors": [
                        {"action": "create", "field": "item", "message": "item must be an object"}
                    ],
                }
            )
            continue
        changed: frozenset[str] = frozenset()
        if "id" in item:
            result, booking, change, changed = booking_writes.modify(
                state, item, account_id=call.account.id
            )
        else:
            result, booking = booking_writes.create(state, item, account_id=call.account.id)
            change = "new" if booking is not None else None
            if booking is not None and _actions(item).get("makeGroup"):
                grouped.append(booking)
        results.append(result)
        if booking is not None and change is not None and _fires_webhook(call, item, changed):
            fired.append((booking, change))
    # `makeGroup` (new bookings only) joins every new booking of this call that set it.
    booking_groups.make_group(grouped)
    for booking, change in fired:
        prop = state.properties[booking["propertyId"]]
        sandbox.sender.booking_changed(prop, booking, change, Delivery())
    return Answer(201, results, cost=credits.write_cost(len(call.items)))


def _actions(item: dict[str, Any]) -> dict[str, Any]:
    raw = item.get("actions")
    return raw if isinstance(raw, dict) else {}


def _fires_webhook(call: Call, item: dict[str, Any], changed: frozenset[str]) -> bool:
    mode = call.sandbox.state.config.api_webhooks
    if mode == "always":
        return True
    created = "id" not in item
    return (
        mode == "allowWebhooks"
        and bool(_actions(item).get("allowWebhooks"))
        and booking_writes.fires_webhook(changed, created=created)
    )


def delete_bookings(call: Call) -> Answer:
    assert call.account is not None
    state = call.sandbox.state
    raw_ids = [v for k, v in call.query if k == "id"]
    if not raw_ids or any("," in v for v in raw_ids):
        raise Refused(400, "id: give one or more ids as repeated parameters")
    own = {p.id for p in state.properties_of(call.account.id)}
    results = []
    for raw in raw_ids:
        booking = state.bookings.get(int(raw)) if raw.isdigit() else None
        if booking is None or booking["propertyId"] not in own:
            results.append(
                {
                    "success": False,
                    "errors": [
                        {"action": "delete", "field": "id", "message": f"booking {raw} not found"}
                    ],
                }
            )
            continue
        del state.bookings[booking["id"]]
        # The official answer is a POST-style result per id (201); it lists no `deleted` key.
        deleted = {"action": "delete", "field": "id", "message": f"booking {raw} deleted"}
        results.append({"success": True, "info": [deleted]})
    return Answer(201, results, cost=credits.write_cost(len(raw_ids)))
