"""One Beds24 room's calendar of a property: the PMS's values beside Beds24's, night by night,
differing cells marked, and the room's latest calendar events; through the code
GET /admin/properties/{id}/calendar uses. Beds24 failing still shows the PMS's side."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from channel_sync.beds24.errors import Beds24Error
from channel_sync.errors import RetryAfter
from channel_sync.pms_calendar import PRICE_SLOTS
from starlette.requests import Request
from starlette.responses import Response

from admin_api.console.forms import filled, path_id, validate
from admin_api.console.render import page
from admin_api.deps import deps
from admin_api.errors import ApiError, NotFound
from admin_api.queries import calendar, properties
from admin_api.room_calendar import NUM_AVAIL, beds24_side, compare, pms_side
from admin_api.schemas.calendar import CalendarNight, CalendarQuery, RoomCalendar

DEFAULT_NIGHTS = 14


@dataclass(frozen=True)
class Column:
    key: str  # the Beds24 field
    title: str


@dataclass(frozen=True)
class Cell:
    pms: str
    beds24: str
    differs: bool


async def show_calendar(request: Request) -> Response:
    property_id = path_id(request.path_params["property_id"], "property")
    d = deps(request)
    info = await d.query(properties.get, property_id)
    if info is None:
        raise NotFound(f"There is no property {property_id}.")
    values = filled(request.query_params)
    start = values.get("from") or _today(info.timezone).isoformat()
    query = validate(
        CalendarQuery,
        {
            "room_id": request.path_params["room_id"],
            "from": start,
            "to": values.get("to") or _nights_after(start, DEFAULT_NIGHTS - 1),
        },
    )
    pms = await pms_side(d.pool, property_id, query.room_id, query.start, query.end)
    problem = None
    shown = None
    try:
        shown = await beds24_side(d.beds24, pms)
    except ApiError as exc:
        problem = exc.message
    except (Beds24Error, RetryAfter) as exc:
        problem = f"Beds24: {exc}"
    found = compare(pms, shown)
    events = await d.query(calendar.room_events, property_id, query.room_id)
    columns = _columns(found)
    return page(
        request,
        "calendar.html",
        info=info,
        cal=found,
        columns=columns,
        rows=[(night, _cells(night, columns)) for night in found.nights],
        problem=problem,
        events=events,
        earlier=_shifted(found, -1),
        later=_shifted(found, 1),
    )


def _today(timezone: str) -> date:
    try:
        return datetime.now(ZoneInfo(timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return datetime.now(UTC).date()


def _nights_after(start: str, nights: int) -> str:
    """The default last night; a `from` that is no date is left for validation to name."""
    try:
        return (date.fromisoformat(start) + timedelta(days=nights)).isoformat()
    except (ValueError, OverflowError):
        return start


def _columns(found: RoomCalendar) -> list[Column]:
    """Availability, each price slot either side holds (the PMS's with its rate plan code),
    then the restrictions."""
    codes = {s.slot: s.code for s in found.rate_plans}
    held = set(codes)
    for night in found.nights:
        if night.beds24 is not None:
            held |= set(night.beds24.prices)
    prices = [
        Column(slot, f"{slot} · {codes[slot]}" if slot in codes else slot)
        for slot in PRICE_SLOTS
        if slot in held
    ]
    return [
        Column(NUM_AVAIL, "Available"),
        *prices,
        Column("minStay", "Min stay"),
        Column("maxStay", "Max stay"),
        Column("override", "Override"),
    ]


def _cells(night: CalendarNight, columns: list[Column]) -> list[Cell]:
    pms = night.pms
    prices: dict[str, Any] = {p.slot: p.price for p in pms.prices}
    mine: dict[str, Any] = {
        NUM_AVAIL: pms.num_avail,
        **prices,
        "minStay": pms.min_stay,
        "maxStay": pms.max_stay,
        "override": pms.override,
    }
    b24 = night.beds24
    theirs: dict[str, Any] = {}
    if b24 is not None:
        theirs = {
            NUM_AVAIL: b24.num_avail,
            **b24.prices,
            "minStay": b24.min_stay,
            "maxStay": b24.max_stay,
            "override": b24.override,
        }
    cells = []
    for column in columns:
        shown = _shown(mine.get(column.key))
        if column.key == "maxStay" and pms.max_stay is None and pms.min_stay is not None:
            shown = "no limit"  # the PMS sets restrictions, with no maximum stay
        elif column.key == NUM_AVAIL and pms.num_avail != pms.free_units:
            shown = f"{pms.num_avail} (free {pms.free_units})"
        cells.append(
            Cell(
                pms=shown,
                beds24=_shown(theirs.get(column.key)) if b24 is not None else "not shown",
                differs=column.key in night.differs,
            )
        )
    return cells


def _shown(value: Any) -> str:
    return "—" if value is None else str(value)


def _shifted(found: RoomCalendar, direction: int) -> dict[str, str] | None:
    """The same number of nights just before (-1) or after (1) these (None: past the
    calendar's ends)."""
    size = (found.last_night - found.first_night).days + 1
    try:
        first = found.first_night + timedelta(days=direction * size)
        last = first + timedelta(days=size - 1)
    except OverflowError:
        return None
    return {"from": first.isoformat(), "to": last.isoformat()}
