"""Beds24's calendar night by night, as read through its API (it answers spans of days)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from channel_sync.beds24 import Beds24Client


async def nights_shown(
    client: Beds24Client, rooms: Sequence[int], first: date, last: date, **include: bool
) -> dict[tuple[int, date], dict[str, Any]]:
    """(Beds24 room, night) -> the values Beds24 shows for it (`include_prices=True`, ...
    as `get_calendar` takes them), one GET for every room."""
    shown: dict[tuple[int, date], dict[str, Any]] = {}
    for room in await client.get_calendar(list(rooms), first, last, **include):
        for span in room["calendar"]:
            night, to = date.fromisoformat(span["from"]), date.fromisoformat(span["to"])
            values = {k: v for k, v in span.items() if k not in ("from", "to")}
            while night <= to:
                shown[room["roomId"], night] = values
                night += timedelta(days=1)
    return shown
