"""Info items by id, as the official API writes them: an item sent without `id` is ADDED,
one with `id` and `code`/`text` is modified, one with `id` alone is deleted. So an item we
own (our reference) is written once on create; any later write names it by id."""

from __future__ import annotations

from typing import Any


def info_items_with_code(booking: dict[str, Any], code: str) -> list[dict[str, Any]]:
    """The booking's info items (read with `includeInfoItems`) that carry `code`."""
    items = booking.get("infoItems")
    return [
        i
        for i in (items if isinstance(items, list) else [])
        if isinstance(i, dict) and i.get("code") == code
    ]


def keep_one_info_item(booking: dict[str, Any], code: str, text: str) -> list[dict[str, Any]]:
    """The `infoItems` of a modify that leaves the booking exactly one `{code, text}` item:
    nothing when it has it already; the first item of that code rewritten by id; copies of
    it deleted by id; an add only when none carries the code."""
    mine = [i for i in info_items_with_code(booking, code) if isinstance(i.get("id"), int)]
    if not mine:
        return [{"code": code, "text": text}]
    kept, *copies = mine
    changes: list[dict[str, Any]] = [{"id": copy["id"]} for copy in copies]
    if kept.get("text") != text:
        changes.insert(0, {"id": kept["id"], "code": code, "text": text})
    return changes
