"""/admin/dead-letters: failed events nobody has resolved, each saying what it is about and
what to do; POST /admin/events/{id}/resolve sets one aside with a note (it stays `failed`,
kept with who resolved it and why, and leaves the dead-letter lists and counts)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin_api.audit import audit_of
from admin_api.deps import deps
from admin_api.endpoint import Endpoint, answer
from admin_api.errors import BadRequest, Conflict, NotFound
from admin_api.parsing import parse_query, path_uuid, read_json
from admin_api.queries import dead_letters
from admin_api.queries.events import Cursor
from admin_api.schemas.dead_letters import DeadLetter, DeadLetterPage, DeadLetterQuery, Resolution
from admin_api.schemas.events import EventSummary


async def list_dead_letters(request: Request) -> Response:
    query = parse_query(request, DeadLetterQuery)
    try:
        after = Cursor.decode(query.cursor) if query.cursor else None
    except ValueError:
        raise BadRequest("invalid query parameter 'cursor': not a cursor from this API") from None
    rows, total = await deps(request).query(
        dead_letters.list_page,
        property_id=query.property_id,
        direction=query.direction,
        limit=query.limit + 1,
        after=after,
    )
    page, more = rows[: query.limit], len(rows) > query.limit
    last = page[-1].event if more else None
    return answer(
        DeadLetterPage(
            dead_letters=[DeadLetter.of(r) for r in page],
            total=total,
            next_cursor=Cursor(last.received_at, last.id).encode() if last else None,
        )
    )


async def resolve_event(request: Request) -> Response:
    event_id = path_uuid(request, "event_id")
    body = await read_json(request, Resolution)
    d = deps(request)
    by = request.state.actor.name
    async with d.pool.acquire() as conn, conn.transaction():
        event = await d.events.lock(conn, event_id)
        if event is None:
            raise NotFound(f"no event {event_id}")
        audit_of(request).property_id = event.property_id
        if event.resolved_at is not None:
            raise Conflict(f"event {event_id} was resolved by {event.resolved_by} already")
        if not await dead_letters.resolve(conn, [event_id], resolved_by=by, note=body.note):
            raise Conflict(f"event {event_id} is {event.status}, not failed: nothing to resolve")
        resolved = await d.events.get(conn, event_id)
    assert resolved is not None
    return answer(EventSummary.of(resolved))


ENDPOINTS = [
    Endpoint(
        "GET",
        "/admin/dead-letters",
        list_dead_letters,
        "Failed events not resolved, newest first: what each is about (property, booking, "
        "guest masked, dates) and whether a retry can help, or what to fix",
        query=DeadLetterQuery,
        response=DeadLetterPage,
        errors=(400,),
    ),
    Endpoint(
        "POST",
        "/admin/events/{event_id}/resolve",
        resolve_event,
        "Resolve a dead letter with a note (fixed by hand, not ours): it stays failed, "
        "marked resolved by whom and why, and leaves the dead-letter lists and counts",
        body=Resolution,
        response=EventSummary,
        errors=(400, 404, 409),
        action="event.resolve",
    ),
]
