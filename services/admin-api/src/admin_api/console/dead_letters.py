"""Dead letters: failed events nobody has resolved, grouped by reason, each group saying
whether a retry can help or what to fix first, each row what it is about (property,
booking, reservation, guest masked, dates). Retry or resolve one, a selection, or all of a
reason, each after a confirmation; retries go through the same Requeuer as
/admin/events/retry, resolutions through the same SQL as /admin/events/{id}/resolve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from channel_sync.events import EventStatus
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from admin_api.attempts import tries_of
from admin_api.audit import audit_of
from admin_api.console.forms import path_id, uuids, validate
from admin_api.console.render import page, redirect
from admin_api.dead_letter_context import BookingContext, context_of
from admin_api.deps import deps
from admin_api.errors import ApiError, BadRequest, Conflict, NotFound
from admin_api.failure_kinds import FailureKind, classify
from admin_api.queries import dead_letters
from admin_api.queries.dead_letters import DeadLetterRow
from admin_api.queries.events import AdminEvent, EventFilter
from admin_api.schemas.dead_letters import Resolution
from admin_api.schemas.events import MAX_BULK

SHOWN_PER_REASON = 20
MAX_REASONS = 50
INTENTS = ("retry", "resolve")


@dataclass(frozen=True)
class Row:
    event: AdminEvent
    property_name: str | None
    about: BookingContext
    tries: str


@dataclass(frozen=True)
class ReasonGroup:
    reason: str | None
    count: int
    latest: datetime
    kind: FailureKind
    properties: list[str]
    rows: list[Row]


async def list_dead_letters(request: Request) -> Response:
    d = deps(request)
    async with d.pool.acquire() as conn:
        reasons = await d.events.failed_by_reason(conn, limit=MAX_REASONS)
        groups = []
        for reason, count, latest in reasons:
            # A NULL reason cannot be filtered on: its events are listed without a filter.
            scope = EventFilter(status=EventStatus.FAILED, last_error=reason, unresolved=True)
            events, _ = await d.events.list(conn, scope, limit=SHOWN_PER_REASON)
            if reason is None:
                events = [e for e in events if e.last_error is None]
            rows = [_row(r) for r in await dead_letters.of_events(conn, [e.id for e in events])]
            groups.append(_group(reason, count, latest, rows))
    return page(
        request,
        "dead_letters.html",
        groups=groups,
        total=sum(g.count for g in groups),
        retried=_number(request.query_params.get("retried")),
        resolved=_number(request.query_params.get("resolved")),
        skipped=_number(request.query_params.get("skipped")) or 0,
    )


async def confirm(request: Request) -> Response:
    """Step one of a bulk retry or resolution: say exactly what will happen and ask."""
    form = await request.form()
    intent = _intent(form)
    reason = form.get("reason")
    if isinstance(reason, str) and reason:
        async with deps(request).pool.acquire() as conn:
            count = len(await dead_letters.ids_with_reason(conn, reason, limit=MAX_BULK))
        return page(request, "confirm_bulk.html", intent=intent, reason=reason, count=count, ids=[])
    ids = [str(i) for i in _picked(form)]
    return page(request, "confirm_bulk.html", intent=intent, reason=None, count=len(ids), ids=ids)


async def confirm_resolve_one(request: Request) -> Response:
    event_id = path_id(request.path_params["event_id"], "event")
    d = deps(request)
    found = await d.query(dead_letters.of_events, [event_id])
    if not found:
        raise NotFound(f"Event {event_id} is not a dead letter (not failed, or resolved).")
    return page(
        request,
        "confirm_bulk.html",
        intent="resolve",
        reason=None,
        count=1,
        ids=[str(event_id)],
        row=_row(found[0]),
    )


async def retry(request: Request) -> Response:
    form = await request.form()
    requeuer = deps(request).requeuer
    reason = form.get("reason")
    skipped = 0
    retried: list[UUID] = []
    if isinstance(reason, str) and reason:
        done = await requeuer.retry_matching(EventFilter(last_error=reason), limit=MAX_BULK)
        retried = [e.id for e in done.events]
    else:
        for event_id in _picked(form):
            try:  # one at a time, as the JSON route does: each its own transaction
                await requeuer.retry_one(event_id, replay=False)
                retried.append(event_id)
            except ApiError:  # retried meanwhile, in flight, or gone
                skipped += 1
    audit_of(request).event_ids = retried
    return redirect(f"/console/dead-letters?retried={len(retried)}&skipped={skipped}")


async def resolve(request: Request) -> Response:
    """Resolved with a note, kept: each event stays failed, marked resolved by whom and why."""
    form = await request.form()
    note = validate(Resolution, {"note": str(form.get("note") or "").strip()}).note
    reason = form.get("reason")
    d = deps(request)
    async with d.pool.acquire() as conn, conn.transaction():
        if isinstance(reason, str) and reason:
            ids = await dead_letters.ids_with_reason(conn, reason, limit=MAX_BULK)
        else:
            ids = _picked(form)
        done = await dead_letters.resolve(
            conn, ids, resolved_by=request.state.actor.name, note=note
        )
    audit_of(request).event_ids = done
    if not done and ids:
        raise Conflict("Nothing was resolved: those events were retried or resolved meanwhile.")
    skipped = len(ids) - len(done)
    return redirect(f"/console/dead-letters?resolved={len(done)}&skipped={skipped}")


def _row(found: DeadLetterRow) -> Row:
    return Row(found.event, found.property_name, context_of(found), tries_of(found.event).said)


def _group(reason: str | None, count: int, latest: datetime, rows: list[Row]) -> ReasonGroup:
    # The reason decides; how the shown events failed settles a reason no rule knows.
    used_up = any(tries_of(r.event).gave_up for r in rows)
    names = sorted({r.property_name for r in rows if r.property_name})
    return ReasonGroup(
        reason, count, latest, classify(reason, used_up_attempts=used_up), names, rows
    )


def _intent(form: FormData) -> str:
    intent = form.get("intent") or "retry"
    if intent not in INTENTS:
        raise BadRequest("Choose to retry or to resolve.")
    return str(intent)


def _picked(form: FormData) -> list[UUID]:
    ids = uuids([str(v) for v in form.getlist("event_id")], "event")
    if not ids:
        raise BadRequest("Select at least one event.")
    if len(ids) > MAX_BULK:
        raise BadRequest(f"Select at most {MAX_BULK} events at a time.")
    return ids


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None
