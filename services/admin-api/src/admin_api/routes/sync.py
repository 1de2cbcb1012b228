"""/admin/properties/{id}/initial-sync, /reconcile, /sync-runs, /sync-policy; /admin/sync-runs;
/admin/drift, /admin/drift/{id}/decision. The admin API only records a request (a
`sync_runs` row) and shows progress and drift: the inbound worker does the runs. An
operator's decision on an open drift record is written here, in one transaction: the
record and whatever the decision sends (an event of the normal paths) or links."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from channel_sync.beds24.links import link_of
from channel_sync.db import Connection
from starlette.requests import Request
from starlette.responses import Response

from admin_api.audit import audit_of
from admin_api.deps import deps
from admin_api.endpoint import Endpoint, answer
from admin_api.errors import Conflict, NotFound, Unprocessable
from admin_api.parsing import parse_query, path_uuid, read_json
from admin_api.queries import properties, sync
from admin_api.schemas.sync import (
    DriftDecision,
    DriftPage,
    DriftQuery,
    DriftRecord,
    SyncPolicy,
    SyncRun,
    SyncRunList,
)


async def _request(request: Request, kind: str) -> Response:
    property_id = path_uuid(request, "property_id")
    async with deps(request).pool.acquire() as conn, conn.transaction():
        await _require_link(conn, property_id)
        run = await sync.request(conn, property_id, kind)
        if run is None:
            busy = await sync.unfinished_of(conn, property_id)
            raise Conflict(
                f"property {property_id} has an unfinished sync run"
                + (f" ({busy.kind}, {busy.id})" if busy else "")
            )
    return answer(run, status=202)


async def initial_sync(request: Request) -> Response:
    return await _request(request, "initial")


async def reconcile(request: Request) -> Response:
    return await _request(request, "reconcile")


async def runs_of_property(request: Request) -> Response:
    property_id = path_uuid(request, "property_id")
    async with deps(request).pool.acquire() as conn:
        if await properties.get(conn, property_id) is None:
            raise NotFound(f"no property {property_id}")
        return answer(SyncRunList(runs=await sync.of_property(conn, property_id)))


async def get_run(request: Request) -> Response:
    run_id = path_uuid(request, "run_id")
    run = await deps(request).query(sync.get, run_id)
    if run is None:
        raise NotFound(f"no sync run {run_id}")
    return answer(run)


async def list_drift(request: Request) -> Response:
    query = parse_query(request, DriftQuery)
    found, total = await deps(request).query(sync.drift, query)
    return answer(DriftPage(drift=found, total=total))


async def get_policy(request: Request) -> Response:
    property_id = path_uuid(request, "property_id")
    policy = await deps(request).query(sync.policy_of, property_id)
    if policy is None:
        raise NotFound(f"property {property_id} is not registered with Beds24")
    return answer(SyncPolicy.model_validate({"policy": policy}))


async def put_policy(request: Request) -> Response:
    property_id = path_uuid(request, "property_id")
    body = await read_json(request, SyncPolicy)
    async with deps(request).pool.acquire() as conn:
        if not await sync.set_policy(conn, property_id, body.policy):
            raise NotFound(f"property {property_id} is not registered with Beds24")
    return answer(body)


async def _require_link(conn: Connection, property_id: UUID) -> None:
    if await link_of(conn, property_id) is None:
        raise NotFound(f"property {property_id} is not registered with Beds24")


# Decisions on open drift records.

# How long a decision waits for a sync step working on the same property.
SYNC_STEP_WAIT_S = 10.0
# What each kind of open record can be decided, and why a decision is left out.
ALLOWED: dict[str, tuple[str, ...]] = {
    "possible_match": ("link", "differ"),
    "booking_differs": ("keep_beds24", "keep_pms", "dismiss"),
    "match_differs": ("keep_beds24", "keep_pms", "dismiss"),
    "missing_in_pms": ("keep_beds24", "keep_pms"),
    "missing_in_beds24": ("dismiss",),
}
_WHY_NOT = {
    "possible_match": "until it is linked or said to differ, neither side is copied to the other",
    "missing_in_pms": "its nights stay held in the PMS's availability only while it is open: "
    "dismissed, they would be offered for sale while Beds24 still holds the booking",
    "missing_in_beds24": "the sync has no repair for either side: Beds24's deletion cannot "
    "be told from a move to the past, and a deleted booking cannot be sent again under its id",
}
_BOOKING = re.compile(r"booking ([0-9]{1,18})")


@dataclass(frozen=True)
class _Outcome:
    said: str  # what was done, for `resolution`
    event_id: UUID | None = None  # the event that repairs it: the record is then `repaired`
    reservation_ids: list[str] | None = None


async def decide_drift(request: Request) -> Response:
    """Decide an open drift record, in one transaction; both values stay in the record, which
    says the decision, who made it (the operator's name) and the note in `resolution`.

    - `possible_match` (a Beds24 booking that looks like unlinked PMS reservation(s)):
      `link` with `reservation_id` (one of the proposed, same property, not linked to
      Beds24, nothing of it on its way to Beds24): the reservation takes the Beds24 booking
      id (written as Beds24's: nothing is sent back); runs then match it by id. `differ`:
      not the same stay (`reservation_id`: only that one; default: all proposed); never
      proposed again: the next run imports the booking and sends the reservation(s), each
      as its own stay. Status `decided`.
    - `booking_differs`, `match_differs` (a stay both sides hold differently, no owner under
      the policy): `keep_beds24` (the inbound worker fetches Beds24's current state and
      applies it), `keep_pms` (the outbound worker sends the PMS's state): status
      `repaired` with the event; `dismiss`: nothing sent, status `decided`, not shown again
      until either side's values change.
    - `missing_in_pms` (a booking Beds24 holds that the PMS no longer does): `keep_beds24`
      (imported again, as Beds24's current state), `keep_pms` (cancelled in Beds24, and the
      PMS's availability sent for its nights); status `repaired`. Not `dismiss`: its nights
      are held only while it is open.
    - `missing_in_beds24` (linked, but Beds24 no longer lists the booking): `dismiss` only.

    404: no such record. 409: the record is not open (decided, or no longer differs), or the
    stays changed since it was found (said in `error`). 422: a decision its kind does not
    allow (`error` names those it does), or a `reservation_id` that does not fit. On any
    error nothing is stored."""
    drift_id = path_uuid(request, "drift_id")
    body = await read_json(request, DriftDecision)
    decided_by = request.state.actor.name
    audit = audit_of(request)
    audit.detail["decision"] = body.decision
    async with deps(request).pool.acquire() as conn, conn.transaction():
        found = await sync.drift_record(conn, drift_id)
        if found is None:
            raise NotFound(f"no drift record {drift_id}")
        audit.property_id = found.property_id
        audit.detail["kind"] = found.kind
        _check(found, body)
        # The run's lock first, as a run's step takes it before the records it writes.
        if not await sync.lock_sync_of(conn, found.property_id, wait_s=SYNC_STEP_WAIT_S):
            raise Conflict(
                f"a sync run is comparing property {found.property_id} now; try again shortly"
            )
        record = await sync.drift_record(conn, drift_id, lock=True)
        assert record is not None  # drift records are never deleted but with their property
        _check(record, body)  # once more: a run may have resolved it meanwhile
        outcome = await _DECISIONS[body.decision](conn, record, body)
        if outcome.event_id is not None:
            audit.event_ids = [outcome.event_id]
        decision: dict[str, Any] = {
            "decision": body.decision,
            "by": decided_by,
            "note": body.note,
        }
        if outcome.reservation_ids is not None:
            decision["reservation_ids"] = outcome.reservation_ids
        decided = await sync.decide(
            conn,
            drift_id,
            status="decided" if outcome.event_id is None else "repaired",
            decision=decision,
            resolution=f"decided {body.decision} by {decided_by}: {outcome.said}"
            + (f"; note: {body.note}" if body.note else ""),
            event_id=outcome.event_id,
        )
    return answer(decided)


def _check(record: DriftRecord, body: DriftDecision) -> None:
    """The record is open, and its kind allows the decision as given."""
    if record.status != "open":
        raise Conflict(
            f"drift record {record.id} is {record.status}, not open: "
            + (record.resolution or "nothing left to decide")
        )
    allowed = ALLOWED.get(record.kind, ("dismiss",))
    if body.decision not in allowed:
        why = _WHY_NOT.get(record.kind)
        raise Unprocessable(
            f"a {record.kind} record cannot be decided {body.decision!r}; it can be: "
            + ", ".join(allowed)
            + (f" ({why})" if why else "")
        )
    if body.reservation_id is not None and body.decision not in ("link", "differ"):
        raise Unprocessable("reservation_id goes with link or differ only")


async def _link(conn: Connection, record: DriftRecord, body: DriftDecision) -> _Outcome:
    booking_id = _booking_of(record)
    proposed = _proposed(record)
    chosen = body.reservation_id
    if chosen is None:
        raise Unprocessable(
            "link needs reservation_id: the proposed reservation that is this booking's "
            "stay (" + ", ".join(proposed) + ")"
        )
    if str(chosen) not in proposed:
        raise Unprocessable(
            f"reservation {chosen} was not proposed for Beds24 booking {booking_id} "
            "(proposed: " + ", ".join(proposed) + ")"
        )
    await sync.lock_booking(conn, booking_id)  # no version of it is applied meanwhile
    reservation = await sync.reservation_to_link(conn, chosen)
    if reservation is None:
        raise Conflict(f"reservation {chosen} no longer exists")
    if reservation["property_id"] != record.property_id:
        raise Unprocessable(
            f"reservation {chosen} is not of property {record.property_id}, as the record is"
        )
    if reservation["beds24_booking_id"] is not None or reservation["beds24_qty_booking_id"]:
        linked = reservation["beds24_booking_id"] or reservation["beds24_qty_booking_id"]
        raise Conflict(f"reservation {chosen} is linked to Beds24 booking {linked} already")
    if reservation["status"] == "cancelled":
        raise Conflict(f"reservation {chosen} was cancelled since it was proposed")
    if reservation["sending"]:
        raise Conflict(
            f"reservation {chosen} has changes on their way to Beds24 (perhaps as a new "
            "booking): decide once they are done"
        )
    holder = await sync.holder_of(conn, booking_id)
    if holder is not None:
        raise Conflict(f"Beds24 booking {booking_id} is reservation {holder}'s already")
    await sync.link(conn, chosen, booking_id)
    return _Outcome(
        f"reservation {chosen} is Beds24 booking {booking_id}; matched by its id from now on",
        reservation_ids=[str(chosen)],
    )


async def _differ(conn: Connection, record: DriftRecord, body: DriftDecision) -> _Outcome:
    booking_id = _booking_of(record)
    proposed = _proposed(record)
    if body.reservation_id is not None and str(body.reservation_id) not in proposed:
        raise Unprocessable(
            f"reservation {body.reservation_id} was not proposed for Beds24 booking "
            f"{booking_id} (proposed: " + ", ".join(proposed) + ")"
        )
    different = proposed if body.reservation_id is None else [str(body.reservation_id)]
    return _Outcome(
        f"Beds24 booking {booking_id} is not the stay of reservation(s) "
        + ", ".join(different)
        + "; never proposed again: each side is synced as its own stay",
        reservation_ids=different,
    )


async def _keep_beds24(conn: Connection, record: DriftRecord, body: DriftDecision) -> _Outcome:
    booking_id = _booking_of(record)
    holder = await _holder_in_property(conn, record, booking_id)
    if record.kind == "missing_in_pms":
        if holder is not None:
            raise Conflict(_held_again(booking_id, holder))
        said = "imported into the PMS again (Beds24's current state)"
    else:
        if holder is None:
            raise Conflict(_not_held(booking_id))
        said = "Beds24's current state is applied to the PMS"
    if await link_of(conn, record.property_id) is None:
        raise Conflict(f"property {record.property_id} is no longer connected to Beds24")
    event_id = await sync.record_refetch(
        conn,
        record.property_id,
        booking_id,
        key=f"drift:{record.id}:keep_beds24",
        correlation_id=f"drift:{record.id}",
    )
    return _Outcome(said, event_id=event_id)


async def _keep_pms(conn: Connection, record: DriftRecord, body: DriftDecision) -> _Outcome:
    booking_id = _booking_of(record)
    holder = await _holder_in_property(conn, record, booking_id)
    correlation_id = f"drift:{record.id}"
    if record.kind != "missing_in_pms":
        if holder is None:
            raise Conflict(_not_held(booking_id))
        event_id = await sync.record_pms_state(conn, holder, correlation_id=correlation_id)
        if event_id is None:
            raise Conflict(f"property {record.property_id} is no longer connected to Beds24")
        return _Outcome(f"the PMS's state of reservation {holder} is sent to Beds24", event_id)
    if holder is not None:
        raise Conflict(_held_again(booking_id, holder))
    gone = await sync.last_holder(conn, record.property_id, booking_id)
    if gone is None:
        raise Unprocessable(
            f"no PMS reservation ever held Beds24 booking {booking_id} (its event failed: "
            "see it under /admin/events); it can be: keep_beds24"
        )
    event_id = await sync.record_cancel_in_beds24(
        conn, record.property_id, gone, booking_id, correlation_id=correlation_id
    )
    if event_id is None:
        raise Conflict(f"property {record.property_id} is no longer connected to Beds24")
    nights = _nights_of(record.beds24_value)
    if nights is not None:
        room, first, last = nights
        await sync.record_nights(
            conn,
            record.property_id,
            room,
            first,
            last,
            source_id=gone,
            correlation_id=correlation_id,
        )
    return _Outcome(
        f"cancelled in Beds24, as reservation {gone} was deleted from the PMS; the PMS's "
        "availability is sent for its nights",
        event_id,
    )


async def _dismiss(conn: Connection, record: DriftRecord, body: DriftDecision) -> _Outcome:
    return _Outcome(
        "left as both sides hold it, nothing sent; shown again only if either side's values change"
    )


_DECISIONS: dict[str, Callable[[Connection, DriftRecord, DriftDecision], Awaitable[_Outcome]]] = {
    "link": _link,
    "differ": _differ,
    "keep_beds24": _keep_beds24,
    "keep_pms": _keep_pms,
    "dismiss": _dismiss,
}


def _booking_of(record: DriftRecord) -> int:
    match = _BOOKING.fullmatch(record.subject)
    if match is None:
        raise Unprocessable(f"drift record {record.id} names no Beds24 booking ({record.subject})")
    return int(match.group(1))


def _proposed(record: DriftRecord) -> list[str]:
    value = record.pms_value
    ids = value.get("reservation_ids") if isinstance(value, dict) else None
    return [str(i) for i in ids] if isinstance(ids, list) else []


async def _holder_in_property(
    conn: Connection, record: DriftRecord, booking_id: int
) -> UUID | None:
    holder = await sync.holder_of(conn, booking_id)
    if holder is None:
        return None
    held = await sync.reservation_to_link(conn, holder)
    if held is None or held["property_id"] != record.property_id:
        raise Conflict(f"Beds24 booking {booking_id} is held by another property's reservation")
    return holder


def _held_again(booking_id: int, holder: UUID) -> str:
    return (
        f"reservation {holder} holds Beds24 booking {booking_id} again: this difference is "
        "gone (the next reconciliation resolves it)"
    )


def _not_held(booking_id: int) -> str:
    return (
        f"no reservation holds Beds24 booking {booking_id} any more: the stays changed since "
        "this was found; the next reconciliation finds what differs now"
    )


def _nights_of(summary: Any) -> tuple[str, date, date] | None:
    """The Beds24 room and first and last night of a booking as a drift record keeps it."""
    if not isinstance(summary, dict):
        return None
    try:
        room = str(int(summary["roomId"]))
        arrival = date.fromisoformat(str(summary["arrival"]))
        departure = date.fromisoformat(str(summary["departure"]))
    except (KeyError, TypeError, ValueError):
        return None
    if departure <= arrival:
        return None
    return room, arrival, departure - timedelta(days=1)


ENDPOINTS = [
    Endpoint(
        "POST",
        "/admin/properties/{property_id}/initial-sync",
        initial_sync,
        "Request the initial sync of a property (import Beds24's bookings, send the PMS's)",
        response=SyncRun,
        status=202,
        errors=(400, 404, 409),
        action="property.initial_sync.request",
    ),
    Endpoint(
        "POST",
        "/admin/properties/{property_id}/reconcile",
        reconcile,
        "Request a reconciliation of a property now (find and repair drift)",
        response=SyncRun,
        status=202,
        errors=(400, 404, 409),
        action="property.reconcile.request",
    ),
    Endpoint(
        "GET",
        "/admin/properties/{property_id}/sync-runs",
        runs_of_property,
        "Initial syncs and reconciliations of a property, newest first, with progress",
        response=SyncRunList,
        errors=(400, 404),
    ),
    Endpoint(
        "GET",
        "/admin/properties/{property_id}/sync-policy",
        get_policy,
        "Who wins a stay both sides hold differently",
        response=SyncPolicy,
        errors=(400, 404),
    ),
    Endpoint(
        "PUT",
        "/admin/properties/{property_id}/sync-policy",
        put_policy,
        "Set who wins a stay both sides hold differently",
        body=SyncPolicy,
        response=SyncPolicy,
        errors=(400, 404),
        action="property.sync_policy.set",
    ),
    Endpoint(
        "GET",
        "/admin/sync-runs/{run_id}",
        get_run,
        "One sync run with its progress",
        response=SyncRun,
        errors=(400, 404),
    ),
    Endpoint(
        "GET",
        "/admin/drift",
        list_drift,
        "Drift records, newest first (status=open: what an operator must decide)",
        query=DriftQuery,
        response=DriftPage,
        errors=(400,),
    ),
    Endpoint(
        "POST",
        "/admin/drift/{drift_id}/decision",
        decide_drift,
        "Decide an open drift record (link or differ a possible match; keep Beds24's or the "
        "PMS's side, or dismiss, a difference)",
        body=DriftDecision,
        response=DriftRecord,
        errors=(400, 404, 409, 422),
        action="drift.decide",
    ),
]
