"""/admin/events: list, inspect, retry one, retry many."""

from __future__ import annotations

from dataclasses import replace

from channel_sync.events import EventStatus
from starlette.requests import Request
from starlette.responses import Response

from admin_api.audit import audit_of
from admin_api.deps import deps
from admin_api.endpoint import Endpoint, answer
from admin_api.errors import BadRequest, NotFound
from admin_api.parsing import parse_query, path_uuid, read_json
from admin_api.queries.events import Cursor
from admin_api.schemas.events import (
    MAX_PAGE,
    BulkRetryAnswer,
    BulkRetryQuery,
    EventDetail,
    EventPage,
    EventSummary,
    ListEventsQuery,
    RetryAnswer,
    RetryOptions,
)


async def list_events(request: Request) -> Response:
    query = parse_query(request, ListEventsQuery)
    try:
        after = Cursor.decode(query.cursor) if query.cursor else None
    except ValueError:
        raise BadRequest("invalid query parameter 'cursor': not a cursor from this API") from None
    limit = min(query.limit, MAX_PAGE)
    d = deps(request)
    # One extra row tells whether another page exists.
    events, total = await d.query(d.events.list, query.to_filter(), limit=limit + 1, after=after)
    page, more = events[:limit], len(events) > limit
    next_cursor = Cursor(page[-1].received_at, page[-1].id).encode() if more else None
    return answer(
        EventPage(events=[EventSummary.of(e) for e in page], total=total, next_cursor=next_cursor)
    )


async def get_event(request: Request) -> Response:
    event_id = path_uuid(request, "event_id")
    d = deps(request)
    event = await d.query(d.events.get, event_id)
    if event is None:
        raise NotFound(f"no event {event_id}")
    return answer(EventDetail.of(event))


async def retry_event(request: Request) -> Response:
    """`replay` may come as a query parameter or in a JSON body; either one set is enough."""
    event_id = path_uuid(request, "event_id")
    replay = parse_query(request, RetryOptions).replay
    replay = (await read_json(request, RetryOptions, optional=True)).replay or replay
    done = await deps(request).requeuer.retry_one(event_id, replay=replay)
    audit_of(request).property_id = done.events[0].property_id
    return answer(
        RetryAnswer(
            event=EventSummary.of(done.events[0]), replay=replay, published=done.published == 1
        ),
        status=202,
    )


async def retry_matching(request: Request) -> Response:
    query = parse_query(request, BulkRetryQuery)
    d = deps(request)
    done = await d.requeuer.retry_matching(query.to_filter(), limit=query.limit)
    audit = audit_of(request)
    audit.event_ids = [e.id for e in done.events]
    audit.property_id = query.property_id
    still_failed = replace(query.to_filter(), status=EventStatus.FAILED, unresolved=True)
    _, remaining = await d.query(d.events.list, still_failed, limit=0)  # only the count
    return answer(
        BulkRetryAnswer(requeued=len(done.events), published=done.published, remaining=remaining),
        status=202,
    )


ENDPOINTS = [
    Endpoint(
        "GET",
        "/admin/events",
        list_events,
        "List events, newest first (keyset pages)",
        query=ListEventsQuery,
        response=EventPage,
        errors=(400,),
    ),
    Endpoint(
        "POST",
        "/admin/events/retry",
        retry_matching,
        "Retry every failed event matching the filters (idempotent)",
        query=BulkRetryQuery,
        response=BulkRetryAnswer,
        status=202,
        errors=(400,),
        action="events.retry_matching",
    ),
    Endpoint(
        "GET",
        "/admin/events/{event_id}",
        get_event,
        "One event with its payload",
        response=EventDetail,
        errors=(400, 404),
    ),
    Endpoint(
        "POST",
        "/admin/events/{event_id}/retry",
        retry_event,
        "Reset a failed event (or replay a done one) and republish it",
        query=RetryOptions,
        body=RetryOptions,
        body_optional=True,
        response=RetryAnswer,
        status=202,
        errors=(400, 404, 409),
        action="event.retry",
    ),
]
