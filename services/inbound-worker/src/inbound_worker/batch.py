"""A batch of inbound messages applied in ONE transaction (the shared batching consumer's
handler): the round trips and the commit of one booking are paid once per batch.

Every rule of the one-event path (`handler.apply_event`) holds, booking by booking:

- per booking only the newest version is applied; an older version in the same batch is
  marked done as superseded (two versions with the same `modifiedTime` are both applied in
  the order they arrived: the apply rules decide, asking Beds24 when they cannot);
- the bookings new to the PMS are created together with set-based statements
  (`new_bookings`), the rest one by one:
- each booking is applied under a savepoint in booking-id order: one that fails (bad data,
  a deadlock) rolls back alone and gets its own outcome (permanent, or a counted retry);
  its batch-mates commit;
- what needs Beds24 first (a V1 ping names a booking without its data; two versions in one
  second) is applied after the batch commits, each alone, as the one-event path does;
- the availability events the batch's writes record are merged into one per Beds24 room
  before commit (the outbound worker sends the current state of the union of their nights).

The outcome of each message is settled by the consumer as for one event: None (done, or
settled before) is acknowledged, an exception retried or dead-lettered with its reason.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

import asyncpg
from channel_sync.db import Connection, plan_for_these_values
from channel_sync.errors import PermanentError
from channel_sync.events import ChannelEvent, EventMessage
from channel_sync.outages import DATABASE_UNAVAILABLE
from channel_sync.pms_changes import merge_availability_events
from channel_sync.repository import ChannelEventRepository

from inbound_worker.apply import AskBeds24, Outcome
from inbound_worker.booking import Booking, read_booking
from inbound_worker.handler import (
    CANNOT_HOLD,
    SETTLED,
    InboundHandler,
    apply_event,
    cannot_hold,
    log_applied,
    payload_booking,
    place_all_waiting,
)
from inbound_worker.new_bookings import apply_new_bookings
from inbound_worker.placement import lock_rooms_for
from inbound_worker.ports import PostgresInbound

logger = logging.getLogger(__name__)
_events = ChannelEventRepository()

Outcomes = dict[UUID, Exception | None]


@dataclass
class _Plan:
    """What the batch does with its events."""

    apply: list[tuple[ChannelEvent, Booking]] = field(default_factory=list)
    # superseded event -> the newer event of the same booking that is applied instead
    superseded: dict[UUID, UUID] = field(default_factory=dict)
    alone: list[ChannelEvent] = field(default_factory=list)


def plan_batch(events: list[ChannelEvent], outcomes: Outcomes) -> _Plan:
    """Read each event's booking (a bad one fails alone) and keep per booking only its
    newest version(s), in booking-id order (locks are taken in one order by every batch)."""
    plan = _Plan()
    versions: dict[tuple[UUID, int], list[tuple[ChannelEvent, Booking]]] = defaultdict(list)
    for event in sorted(events, key=lambda e: (e.received_at, str(e.id))):
        raw = payload_booking(event)
        if raw is None:
            plan.alone.append(event)  # a V1 ping: its booking comes from Beds24
            continue
        try:
            booking = read_booking(raw)
        except PermanentError as exc:
            outcomes[event.id] = exc
            continue
        versions[event.property_id, booking.booking_id].append((event, booking))
    for key in sorted(versions, key=lambda k: (k[1], str(k[0]))):
        found = versions[key]
        stamps = [b.modified_time for _, b in found if b.modified_time is not None]
        newest = max(stamps) if len(stamps) == len(found) else None
        for event, booking in found:
            if newest is None or booking.modified_time == newest:
                plan.apply.append((event, booking))
        kept = [e.id for e, b in found if newest is None or b.modified_time == newest]
        for event, _ in found:
            if event.id not in kept:
                plan.superseded[event.id] = kept[-1]
    return plan


class InboundBatch:
    def __init__(
        self, pool: asyncpg.Pool, handler: InboundHandler, *, push_skew: timedelta
    ) -> None:
        self._pool = pool
        self._handler = handler
        self._push_skew = push_skew

    async def __call__(self, messages: list[EventMessage]) -> Mapping[UUID, Exception | None]:
        ids = list(dict.fromkeys(m.event_id for m in messages))
        outcomes: Outcomes = dict.fromkeys(ids)  # missing or settled already: acknowledge
        async with self._pool.acquire() as conn, conn.transaction():
            await plan_for_these_values(conn)
            events = [e for e in await _events.get_many(conn, ids) if e.status not in SETTLED]
        plan = plan_batch(events, outcomes)
        if plan.apply:
            try:
                applied = await self._apply_together(plan, outcomes)
            except Exception as exc:  # the transaction as a whole (e.g. the database left)
                logger.warning("inbound batch failed: %s", exc.__class__.__name__)
                for event, _ in plan.apply:
                    outcomes[event.id] = exc
                for event_id in plan.superseded:
                    outcomes[event_id] = exc
                applied = []
            for event, booking, outcome in applied:
                log_applied(event, booking, outcome)
        for event in plan.alone:
            try:
                await self._handler.handle_event(event)
            except Exception as exc:
                outcomes[event.id] = exc
        return outcomes

    async def _apply_together(
        self, plan: _Plan, outcomes: Outcomes
    ) -> list[tuple[ChannelEvent, Booking, Outcome]]:
        applied: list[tuple[ChannelEvent, Booking, Outcome]] = []
        failed: dict[UUID, Exception] = {}
        properties: set[UUID] = set()
        async with self._pool.acquire() as conn, conn.transaction():
            await plan_for_these_values(conn)
            await lock_rooms_for(
                conn,
                sorted(
                    {
                        (event.property_id, str(booking.beds24_room_id))
                        for event, booking in plan.apply
                        if booking.beds24_room_id is not None
                    }
                ),
            )
            rest = await self._create_new_together(conn, plan.apply, applied, properties)
            for event, booking in rest:
                try:
                    outcome = await self._apply_one(conn, event, booking)
                except AskBeds24:
                    plan.alone.append(event)  # after commit, with Beds24's current state
                    continue
                except DATABASE_UNAVAILABLE:
                    raise  # the whole transaction is lost: every event of it retries
                except Exception as exc:  # bad data, a deadlock, a bug: this booking alone
                    failed[event.id] = exc
                    continue
                properties.add(event.property_id)
                if outcome is not None:
                    applied.append((event, booking, outcome))
            await self._settle_superseded(conn, plan, failed)
            for property_id in sorted(properties, key=str):
                await place_all_waiting(conn, property_id)
            await merge_availability_events(conn, sorted(properties, key=str))
        outcomes.update(failed)
        return applied

    async def _create_new_together(
        self,
        conn: Connection,
        pairs: list[tuple[ChannelEvent, Booking]],
        applied: list[tuple[ChannelEvent, Booking, Outcome]],
        properties: set[UUID],
    ) -> list[tuple[ChannelEvent, Booking]]:
        """The batch's new bookings created together (`new_bookings`), under a savepoint: if
        that fails, every booking takes the one-booking path, which decides it alone."""
        try:
            async with conn.transaction():
                together = await apply_new_bookings(conn, pairs)
        except DATABASE_UNAVAILABLE:
            raise
        except Exception as exc:
            logger.warning("new bookings not created together: %s", exc.__class__.__name__)
            return pairs
        applied.extend(together.created)
        properties.update(event.property_id for event, _, _ in together.created)
        return together.rest

    async def _apply_one(
        self, conn: Connection, event: ChannelEvent, booking: Booking
    ) -> Outcome | None:
        """One booking under a savepoint: its failure rolls back only its own writes."""
        try:
            async with conn.transaction():
                return await apply_event(
                    PostgresInbound(conn), event, booking, current=False, push_skew=self._push_skew
                )
        except CANNOT_HOLD as exc:
            raise cannot_hold(booking, exc) from None

    async def _settle_superseded(
        self, conn: Connection, plan: _Plan, failed: dict[UUID, Exception]
    ) -> None:
        """Older versions are done once their newer one is; if that one failed, they share
        its outcome (they are tried again with it)."""
        done: dict[UUID, list[UUID]] = defaultdict(list)
        for older, newer in plan.superseded.items():
            if newer in failed:
                failed[older] = failed[newer]
            else:
                done[newer].append(older)
        for newer, olders in done.items():
            await conn.execute(
                """UPDATE channel_events SET status = 'done', outcome_note = $2,
                       processed_at = now(), updated_at = now()
                   WHERE id = ANY($1::uuid[]) AND status NOT IN ('done', 'failed')""",
                olders,
                f"superseded by a newer version of the booking in the same batch ({newer})",
            )
