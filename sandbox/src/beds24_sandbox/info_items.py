"""Info items as the official file writes them: an item without `id` is added, one with `id`
and `code`/`text` is modified, one with `id` alone is deleted. Every item gets an id."""

from __future__ import annotations

from typing import Any

from beds24_sandbox.booking_fields import fmt_time, utc_now
from beds24_sandbox.state import SandboxState

MAX_TEXT = 1000


def apply(
    state: SandboxState, booking_id: int, current: list[dict[str, Any]], entries: list[Any]
) -> tuple[list[dict[str, Any]], str | None]:
    """(the booking's new list, None) or (the unchanged list, a message) for one write."""
    items = [dict(i) for i in current]
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) - {"id", "code", "text", "bookingId"}:
            return current, "infoItems entries take id, code, text"
        texts = {k: entry[k] for k in ("code", "text") if k in entry}
        if any(not isinstance(v, str) or len(v) > MAX_TEXT for v in texts.values()):
            return current, f"infoItems code and text must be strings of at most {MAX_TEXT}"
        if "id" not in entry:
            items.append(
                {
                    "id": state.next_info_item_id(),
                    "bookingId": booking_id,
                    "code": texts.get("code", ""),
                    "text": texts.get("text", ""),
                    "createTime": fmt_time(utc_now()),
                }
            )
            continue
        found = next((i for i in items if i["id"] == entry["id"]), None)
        if found is None:
            return current, f"infoItems id {entry['id']!r} is not an item of this booking"
        if texts:
            found.update(texts)
        else:
            items.remove(found)
    return items, None


def stamp_booking_id(items: list[dict[str, Any]], booking_id: int) -> None:
    """A create learns its booking id only once it is stored."""
    for item in items:
        item["bookingId"] = booking_id
