"""Bookings paths: GET with Beds24's filters, POST as a batch answered per item, DELETE."""

from __future__ import annotations

from typing import Any

from beds24_sandbox import booking_search, booking_writes, credits
from beds24_sandbox.pipeline import Answer, Call, Refused, flag, paged
from beds24_sandbox.webhooks import Delivery


def get_bookings(call: Call) -> Answer:
    assert call.account is not None
    found = booking_search.search(call.sandbox.state, call.account.id, call.query)
    info, invoice = flag(call, "includeInfoItems"), flag(call, "includeInvoiceItems")
    shown = [booking_search.public(b, info=info, invoice=invoice) for b in found]
    return paged(call, "booking", shown)


def post_bookings(call: Call) -> Answer:
    assert call.account is not None and call.items is not None
    sandbox, state = call.sandbox, call.sandbox.state
    results = []
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
        if "id" in item:
            result, booking, change = booking_writes.modify(state, item, account_id=call.account.id)
        else:
            result, booking = booking_writes.create(state, item, account_id=call.account.id)
            change = "new" if booking is not None else None
        results.append(result)
        if booking is not None and change is not None and _fires_webhook(call, item):
            prop = state.properties[booking["propertyId"]]
            sandbox.sender.booking_changed(prop, booking, change, Delivery())
    return Answer(201, results, cost=credits.write_cost(len(call.items)))


def _fires_webhook(call: Call, item: dict[str, Any]) -> bool:
    mode = call.sandbox.state.config.api_webhooks
    raw_actions = item.get("actions")
    actions: dict[str, Any] = raw_actions if isinstance(raw_actions, dict) else {}
    return mode == "always" or (mode == "allowWebhooks" and bool(actions.get("allowWebhooks")))


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
        results.append({"success": True, "deleted": {"id": booking["id"]}})
    return Answer(200, results, cost=credits.write_cost(len(raw_ids)))
