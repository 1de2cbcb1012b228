"""Events: the filtered listing, one event with its booking's timeline, and retrying it.

Reads and retries go through the same repository and Requeuer as /admin/events."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

from channel_sync.events import ChannelEvent, Direction, EventStatus
from channel_sync.inbound import CANCELLED, CREATED, MODIFIED
from starlette.requests import Request
from starlette.responses import Response

from admin_api.console.forms import filled, path_id, validate
from admin_api.console.masking import has_personal, mask
from admin_api.console.render import page, redirect
from admin_api.deps import deps
from admin_api.errors import BadRequest, NotFound
from admin_api.queries import properties
from admin_api.queries.events import Cursor
from admin_api.schemas.events import ListEventsQuery
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


async def list_events(request: Request) -> Response:
    values = filled(request.query_params)
    values.setdefault("limit", str(PAGE_SIZE))
    d = deps(request)
    async with d.pool.acquire() as conn:
        props = await properties.list_page(conn, limit=1000, offset=0)
        try:
            query = validate(ListEventsQuery, values)
            after = Cursor.decode(query.cursor) if query.cursor else None
        except (BadRequest, ValueError) as exc:
            problem = exc.message if isinstance(exc, BadRequest) else "that page link is stale"
            return page(
                request, "events.html", 400, **_choices(props), filters=values, error=problem
            )
        limit = min(query.limit, 100)
        events, total = await d.events.list(conn, query.to_filter(), limit=limit + 1, after=after)
    shown = events[:limit]
    filters = {k: v for k, v in values.items() if k not in ("cursor", "limit")}
    next_url = None
    if len(events) > limit:
        cursor = Cursor(shown[-1].received_at, shown[-1].id).encode()
        next_url = "/console/events?" + urlencode({**filters, "cursor": cursor})
    return page(
        request,
        "events.html",
        **_choices(props),
        events=shown,
        total=total,
        filters=filters,
        next_url=next_url,
        first_url="/console/events?" + urlencode(filters) if query.cursor else None,
        names={p.property_id: p.name for p in props},
    )


async def show_event(request: Request) -> Response:
    event, timeline, name = await _event_and_timeline(request)
    reveal = request.query_params.get("reveal") == "1"
    if reveal:
        # Who looked is not known (one shared token); that someone did is worth a line.
        logger.info("console: personal data of an event shown", extra={"event_id": str(event.id)})
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
        notice=request.query_params.get("notice"),
    )


async def event_status(request: Request) -> Response:
    """The status block alone: htmx polls it while the event is in flight."""
    event = await _event(request)
    return page(request, "_event_status.html", event=event, in_flight=event.status in IN_FLIGHT)


async def confirm_retry(request: Request) -> Response:
    event = await _event(request)
    return page(request, "confirm_retry.html", event=event, replay=event.status is EventStatus.DONE)


async def retry_event(request: Request) -> Response:
    event_id = path_id(request.path_params["event_id"], "event")
    replay = (await request.form()).get("replay") == "1"
    done = await deps(request).requeuer.retry_one(event_id, replay=replay)
    notice = "published" if done.published else "queued"
    return redirect(f"/console/events/{event_id}?notice={notice}")


async def _event(request: Request) -> ChannelEvent:
    event_id = path_id(request.path_params["event_id"], "event")
    d = deps(request)
    async with d.pool.acquire() as conn:
        event = await d.events.get(conn, event_id)
    if event is None:
        raise NotFound(f"There is no event {event_id}.")
    return event


async def _event_and_timeline(
    request: Request,
) -> tuple[ChannelEvent, list[ChannelEvent], str | None]:
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
