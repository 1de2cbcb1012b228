"""Dead letters: failed events grouped by reason; retry one, a selection, or all of a reason,
each after a confirmation, through the same Requeuer as /admin/events/retry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from channel_sync.events import ChannelEvent, EventStatus
from starlette.requests import Request
from starlette.responses import Response

from admin_api.console.forms import uuids
from admin_api.console.render import page, redirect
from admin_api.deps import deps
from admin_api.errors import ApiError, BadRequest
from admin_api.queries.events import EventFilter
from admin_api.schemas.events import MAX_BULK

SHOWN_PER_REASON = 20
MAX_REASONS = 50


@dataclass(frozen=True)
class ReasonGroup:
    reason: str | None
    count: int
    latest: datetime
    events: list[ChannelEvent]


async def list_dead_letters(request: Request) -> Response:
    d = deps(request)
    async with d.pool.acquire() as conn:
        reasons = await d.events.failed_by_reason(conn, limit=MAX_REASONS)
        groups = []
        for reason, count, latest in reasons:
            # A NULL reason cannot be filtered on: its events are listed without a filter.
            scope = EventFilter(status=EventStatus.FAILED, last_error=reason)
            events, _ = await d.events.list(conn, scope, limit=SHOWN_PER_REASON)
            if reason is None:
                events = [e for e in events if e.last_error is None]
            groups.append(ReasonGroup(reason, count, latest, events))
    done = request.query_params.get("retried")
    return page(
        request,
        "dead_letters.html",
        groups=groups,
        retried=int(done) if done and done.isdigit() else None,
        skipped=request.query_params.get("skipped", "0"),
    )


async def confirm(request: Request) -> Response:
    """Step one of a bulk retry: say exactly what will be retried and ask."""
    form = await request.form()
    reason = form.get("reason")
    if isinstance(reason, str) and reason:
        d = deps(request)
        async with d.pool.acquire() as conn:
            scope = EventFilter(status=EventStatus.FAILED, last_error=reason)
            _, count = await d.events.list(conn, scope, limit=0)
        return page(request, "confirm_bulk.html", reason=reason, count=count, ids=[])
    ids = [str(i) for i in uuids([str(v) for v in form.getlist("event_id")], "event")]
    if not ids:
        raise BadRequest("Select at least one event to retry.")
    return page(request, "confirm_bulk.html", reason=None, count=len(ids), ids=ids)


async def retry(request: Request) -> Response:
    form = await request.form()
    requeuer = deps(request).requeuer
    reason = form.get("reason")
    skipped = 0
    if isinstance(reason, str) and reason:
        done = await requeuer.retry_matching(EventFilter(last_error=reason), limit=MAX_BULK)
        retried = len(done.events)
    else:
        ids = uuids([str(v) for v in form.getlist("event_id")], "event")
        if not ids:
            raise BadRequest("Select at least one event to retry.")
        retried = 0
        for event_id in ids:
            try:  # one at a time, as the JSON route does: each its own transaction
                await requeuer.retry_one(event_id, replay=False)
                retried += 1
            except ApiError:  # retried meanwhile, in flight, or gone
                skipped += 1
    return redirect(f"/console/dead-letters?retried={retried}&skipped={skipped}")
