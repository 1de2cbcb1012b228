"""Calendar writes: runs of consecutive days with equal settings become one range."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any


def compress_calendar(days: dict[date, dict[str, Any]]) -> list[dict[str, Any]]:
    """`{date: {"numAvail": 1, ...}}` -> `[{"from": ..., "to": ..., "numAvail": 1}, ...]`.

    `to` is inclusive (as Beds24 reads it). A gap in the dates or any differing value
    starts a new range. Values are passed through untouched (`None` clears a setting).
    """
    ranges: list[dict[str, Any]] = []
    start: date | None = None
    last: date | None = None
    values: dict[str, Any] = {}
    for day in sorted(days):
        current = days[day]
        if (
            start is not None
            and last is not None
            and (day == last + timedelta(days=1) and current == values)
        ):
            last = day
            continue
        if start is not None and last is not None:
            ranges.append({"from": start.isoformat(), "to": last.isoformat(), **values})
        start, last, values = day, day, dict(current)
    if start is not None and last is not None:
        ranges.append({"from": start.isoformat(), "to": last.isoformat(), **values})
    return ranges


def calendar_item(room_id: int, days: dict[date, dict[str, Any]]) -> dict[str, Any]:
    """One item of `POST /inventory/rooms/calendar` for a room."""
    return {"roomId": room_id, "calendar": compress_calendar(days)}
