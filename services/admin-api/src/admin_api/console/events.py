"""Events: the filtered listing, one event with its booking's timeline, and retrying it.

Reads and retries go through the same repository and Requeuer as /admin/events."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from channel_sync.events import Direction, EventStatus
from channel_sync.inbound import CANCELLED, CREATED, MODIFIED
from starlette.requests import Request
from starlette.responses import Response

from admin_api.attempts import tries_of
from admin_api.console.forms import filled, path_id, validate
from admin_api.console.masking import has_personal, mask
from admin_api.console.render import page, redirect
from admin_api.deps import deps
from admin_api.errors import BadRequest, NotFound
from admin_api.queries import properties
from admin_api.queries.events import AdminEvent, Cursor
from admin_api.schemas.events import ListEventsQuery, advice_of
from admin_api.schemas.properties import PropertyInfo

logger = logging.getLogger(__name__)

PAGE_SIZE = 25
KNOWN_TYPES = (
    CREATED,
    MODIFIED,
    CANCELLED,
    "pms.booking.create",
    "pms.booking.update",
    "pms.booking.cancel",
    "pms.availability.update",
    "pms.rates.update",
    "pms.restrictions.update",
)
IN_FLIGHT = (EventStatus.RECEIVED, EventStatus.PROCESSING)
# The listing's views: which events each shows (None: every kind).
VIEWS = {"bookings": "booking", "rooms": "availability", "all": None}
ROOMS_PER_PAGE = 25


async def list_events(request: Request) -> Response:
    """Bookings first (the default view): a Beds24 room's availability, price and restriction
    events are many and would push bookings off the page, so they have their own view,
    collapsed to one line per room; `all` lists every event as the API does."""
    values = filled(request.query_params)
    # A Beds24 id may name a booking or a room: looked up among every event.
    view = values.pop("view", "all" if "beds24_booking_id" in values else "bookings")
    page_no = values.pop("page", "1")
    values.setdefault("limit", str(PAGE_SIZE))
    d = deps(request)
    async with d.pool.acquire() as conn:
        props = await properties.list_page(conn, limit=1000, offset=0)
        names = {p.property_id: p.name for p in props}
        try:
            if view not in VIEWS:
                raise BadRequest("view: must be one of " + ", ".join(VIEWS))
            if not (page_no.isdigit() and 0 < len(page_no) < 7 and int(page_no) > 0):
                raise BadRequest("page: must be a page number")
            query = validate(ListEventsQuery, values)
            after = Cursor.decode(query.cursor) if query.cursor else None
        except (BadRequest, ValueError) as exc:
            problem = exc.message if isinstance(exc, BadRequest) else "that page link is stale"
            return page(
                request,
                "events.html",
                400,
                **_choices(props),
                filters=values,
                view=view,
                error=problem,
                names=names,
            )
        filters = {k: v for k, v in values.items() if k not in ("cursor", "limit")}
        event_filter = query.to_filter()
        event_filter = replace(event_filter, entity_type=VIEWS[view] or event_filter.entity_type)
        if view == "rooms":
            number = int(page_no)
            rooms, total = await d.events.rooms(
                conn, event_filter, limit=ROOMS_PER_PAGE + 1, offset=(number - 1) * ROOMS_PER_PAGE
            )
            here = {**filters, "view": view}
            return page(
                request,
                "events.html",
                **_choices(props),
                view=view,
                rooms=rooms[:ROOMS_PER_PAGE],
                total=total,
                filters=filters,
                names=names,
                next_url=_url({**here, "page": str(number + 1)})
                if len(rooms) > ROOMS_PER_PAGE
                else None,
                first_url=_url(here) if number > 1 else None,
            )
        limit = min(query.limit, 100)
        events, total = await d.events.list(conn, event_filter, limit=limit + 1, after=after)
    shown = events[:limit]
    here = {**filters, "view": view}
    next_url = None
    if len(events) > limit:
        next_url = _url({**here, "cursor": Cursor(shown[-1].received_at, shown[-1].id).encode()})
    return page(
        request,
        "events.html",
        **_choices(props),
        view=view,
        events=shown,
        tries={e.id: tries_of(e).said for e in shown},
        total=total,
        filters=filters,
        next_url=next_url,
        first_url=_url(here) if query.cursor else None,
        names=names,
    )


def _url(params: dict[str, str]) -> str:
    return "/console/events?" + urlencode(params)


async def show_event(request: Request) -> Response:
    event, timeline, name = await _event_and_timeline(request)
    reveal = request.query_params.get("reveal") == "1"
    if reveal:
        logger.info(
            "console: personal data of an event shown",
            extra={"event_id": str(event.id), "operator": request.state.actor.name},
        )
    payload = event.payload if reveal else mask(event.payload)
    return page(
        request,
        "event.html",
        event=event,
        property_name=name,
        payload=json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True),
        personal=has_personal(event.payload),
        revealed=reveal,
        timeline=timeline,
        in_flight=event.status in IN_FLIGHT,
        tries=tries_of(event),
        advice=advice_of(event),
        notice=request.query_params.get("notice"),
    )


async def event_status(request: Request) -> Response:
    """The status block alone: htmx polls it while the event is in flight."""
    event = await _event(request)
    return page(
        request,
        "_event_status.html",
        event=event,
        in_flight=event.status in IN_FLIGHT,
        tries=tries_of(event),
    )


async def confirm_retry(request: Request) -> Response:
    event = await _event(request)
    return page(
        request,
        "confirm_retry.html",
        event=event,
        replay=event.status is EventStatus.DONE,
        advice=advice_of(event),
    )


async def retry_event(request: Request) -> Response:
    event_id = path_id(request.path_params["event_id"], "event")
    replay = (await request.form()).get("replay") == "1"
    done = await deps(request).requeuer.retry_one(event_id, replay=replay)
    notice = "published" if done.published else "queued"
    return redirect(f"/console/events/{event_id}?notice={notice}")


async def _event(request: Request) -> AdminEvent:
    event_id = path_id(request.path_params["event_id"], "event")
    d = deps(request)
    event = await d.query(d.events.get, event_id)
    if event is None:
        raise NotFound(f"There is no event {event_id}.")
    return event


async def _event_and_timeline(
    request: Request,
) -> tuple[AdminEvent, list[AdminEvent], str | None]:
    event = await _event(request)
    d = deps(request)
    async with d.pool.acquire() as conn:
        timeline = await d.events.timeline(conn, event)
        prop = await properties.get(conn, event.property_id)
    return event, timeline, prop.name if prop else None


def _choices(props: list[PropertyInfo]) -> dict[str, Any]:
    return {
        "statuses": [str(s) for s in EventStatus],
        "directions": [str(d) for d in Direction],
        "types": KNOWN_TYPES,
        "properties": props,
    }
