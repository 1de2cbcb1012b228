"""The PMS's current and future reservations against what Beds24 listed (the second stage
of a run, after every page of bookings): a reservation Beds24 does not have is sent through
the normal capture path (an outbound event; the worker sends its current state); one linked
to a Beds24 booking that Beds24 no longer lists is left open for an operator, unless it was
written or changed after the run began reading (created during the sync: the pages read
predate it)."""

from __future__ import annotations

from datetime import date, datetime

from channel_sync.db import Connection
from channel_sync.pms_changes import record_reservation_change

from inbound_worker.sync import drift, pms_side
from inbound_worker.sync.drift import Drift
from inbound_worker.sync.metrics import count_drift
from inbound_worker.sync.runs import Run


async def compare_reservations(conn: Connection, run: Run, today: date) -> None:
    seen = set(run.cursor.get("seen", []))
    read_from = _time(run.cursor.get("read_from"))
    claimed = set(run.cursor.get("claimed", []))  # named by a Beds24 booking's reference
    for pms in await pms_side.current_and_future(conn, run.property_id, today):
        if pms.in_flight or str(pms.reservation_id) in claimed:
            continue  # on its way, or adopted by the inbound path from its Beds24 booking
        if pms.stay.status == "cancelled":
            continue
        if pms.beds24_booking_id is None:
            if not pms.mapped:
                continue  # its room is not mapped to Beds24: nothing to send it to
            event_id = await record_reservation_change(
                conn, pms.reservation_id, correlation_id=f"sync-run:{run.id}"
            )
            run.count("outbound_events")
            if run.kind == "reconcile":
                found = Drift(
                    "missing_in_beds24",
                    f"reservation {pms.reservation_id}",
                    None,
                    pms.stay.as_json(),
                )
                await drift.record_repaired(
                    conn,
                    run.property_id,
                    run.id,
                    found,
                    resolution="sent to Beds24 as a new booking",
                    event_id=event_id,
                )
                run.count("drift_found")
                run.count("drift_repaired")
                count_drift(found.kind, "repaired")
        elif pms.beds24_booking_id not in seen and not _changed_since(pms, read_from):
            found = Drift(
                "missing_in_beds24",
                f"booking {pms.beds24_booking_id}",
                None,
                {"reservation_id": str(pms.reservation_id), **pms.stay.as_json()},
            )
            reason = (
                "Beds24 no longer lists this booking among current and future stays "
                "(deleted there, or moved to the past): an operator must decide"
            )
            await drift.leave_open(conn, run, found, reason=reason)


def _changed_since(pms: pms_side.PmsStay, read_from: datetime | None) -> bool:
    """The booking was written by us, or stamped by Beds24, after the run began reading:
    the pages read may predate it, so its absence there says nothing."""
    if read_from is None:
        return False
    return any(t is not None and t >= read_from for t in (pms.pushed_at, pms.modified_time))


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
