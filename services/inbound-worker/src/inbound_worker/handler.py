"""The inbound handler: one event message → the PMS reservation, in ONE transaction that
also marks the event `done`. Delivery is at least once; this makes the effect exactly once:

    read the event (gone, done or failed → nothing to do, ack)
    V1 ping → fetch the booking from Beds24 first (no transaction held during the call)
    BEGIN; lock the event row; still not done → mark the writes as Beds24's (no echo);
    lock the booking's group (if any); apply the booking; join its stay and bring the
    extra rooms of a roomQty booking in line (`stays`); link the reservation; mark done;
    COMMIT
    another version with the same modifiedTime (AskBeds24; rolled back) → fetch the
    booking's current state from Beds24, then the same transaction with that

Errors are raised for the consumer to settle: PermanentError (bad data, unknown booking) →
`failed`; anything else → a delayed retry, bounded by the event's max_attempts.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any, Protocol
from uuid import UUID

import asyncpg
from channel_sync.db import Connection
from channel_sync.errors import PermanentError
from channel_sync.events import ChannelEvent, EventMessage, EventStatus
from channel_sync.repository import ChannelEventRepository
from prometheus_client import Counter

from inbound_worker.apply import PUSH_SKEW, AskBeds24, Outcome, apply_booking
from inbound_worker.booking import Booking, read_booking
from inbound_worker.placement import place_waiting
from inbound_worker.ports import InboundTransaction, PostgresInbound

logger = logging.getLogger(__name__)
_events = ChannelEventRepository()
SETTLED = (EventStatus.DONE, EventStatus.FAILED)
# Postgres (or asyncpg, before sending) refusing a value for its column: permanent.
CANNOT_HOLD = (asyncpg.DataError, asyncpg.CheckViolationError, asyncpg.NotNullViolationError)

APPLIED = Counter(
    "inbound_worker_bookings_total",
    "Bookings handled, by outcome (created, updated, cancelled, stale, unchanged)",
    ["outcome", "needs_attention"],
)


class BookingFetcher(Protocol):
    async def fetch_booking(self, property_id: UUID, booking_id: int) -> dict[str, Any]: ...


class InboundHandler:
    def __init__(
        self, pool: asyncpg.Pool, fetcher: BookingFetcher, *, push_skew: timedelta = PUSH_SKEW
    ) -> None:
        self._pool = pool
        self._fetcher = fetcher
        self._push_skew = push_skew

    async def __call__(self, message: EventMessage) -> None:
        async with self._pool.acquire() as conn:
            event = await _events.get(conn, message.event_id)
        if event is None or event.status in SETTLED:
            logger.info(
                "nothing to do: event %s",
                "missing" if event is None else event.status,
                extra={"event_id": str(message.event_id)},
            )
            return
        await self.handle_event(event)

    async def handle_event(self, event: ChannelEvent) -> None:
        """One event by itself (its own transaction; Beds24 asked where the booking's
        version is unclear): the batch's fallback for what it cannot apply with the rest."""
        raw, fetched = await self.booking_of(event)
        booking = read_booking(raw)
        try:
            outcome = await self._apply(event, booking, current=fetched)
        except AskBeds24 as unclear:  # two versions in one second: Beds24 says which is last
            logger.info("%s; fetching its current state", unclear, extra=_ids(event))
            raw = await self._fetcher.fetch_booking(event.property_id, booking.booking_id)
            booking = read_booking(raw)
            outcome = await self._apply(event, booking, current=True)
        if outcome is not None:
            log_applied(event, booking, outcome)

    async def _apply(
        self, event: ChannelEvent, booking: Booking, *, current: bool
    ) -> Outcome | None:
        try:
            return await self._apply_in_transaction(event, booking, current=current)
        except CANNOT_HOLD as exc:
            raise cannot_hold(booking, exc) from None

    async def _apply_in_transaction(
        self, event: ChannelEvent, booking: Booking, *, current: bool
    ) -> Outcome | None:
        async with self._pool.acquire() as conn, conn.transaction():
            outcome = await apply_event(
                PostgresInbound(conn), event, booking, current=current, push_skew=self._push_skew
            )
            if outcome is not None:
                await place_all_waiting(conn, event.property_id)
        return outcome

    async def booking_of(self, event: ChannelEvent) -> tuple[dict[str, Any], bool]:
        """The booking a V2 webhook or a poll carries, or the one a V1 ping names (fetched
        from Beds24: its current state, hence True)."""
        carried = payload_booking(event)
        if carried is not None:
            return carried, False
        payload = event.payload
        ping = payload.get("v1") if isinstance(payload, dict) else None
        if isinstance(ping, dict) and isinstance(ping.get("bookid"), int):
            return await self._fetcher.fetch_booking(event.property_id, ping["bookid"]), True
        raise PermanentError("the event payload holds no Beds24 booking")


def payload_booking(event: ChannelEvent) -> dict[str, Any] | None:
    """The booking a V2 webhook or a poll carries (None: a V1 ping, or no booking)."""
    payload = event.payload
    if isinstance(payload, dict) and isinstance(payload.get("booking"), dict):
        booking: dict[str, Any] = payload["booking"]
        if "infoItems" not in booking and isinstance(payload.get("infoItems"), list):
            # A V2 webhook carries them beside the booking; one may be our reference.
            booking = {**booking, "infoItems": payload["infoItems"]}
        return booking
    return None


def cannot_hold(booking: Booking, exc: Exception) -> PermanentError:
    """read_booking checks every value against its column first; this is the net under it.
    The error's text may quote the value (guest data): it is left out."""
    return PermanentError(
        f"Beds24 booking {booking.booking_id}: the PMS cannot hold a value of this "
        f"booking ({exc.__class__.__name__}); no retry can change that"
    )


async def apply_event(
    tx: InboundTransaction,
    event: ChannelEvent,
    booking: Booking,
    *,
    current: bool,
    push_skew: timedelta,
) -> Outcome | None:
    """The event's booking applied and the event marked done, inside the transaction `tx`
    is (on Postgres: `PostgresInbound(conn)`); None when the event is settled already (a
    concurrent delivery)."""
    if not await tx.claim_event(event.id):
        return None
    await tx.mark_beds24_origin()
    await tx.lock_group(booking)  # before the booking's own lock (see stays)
    waited = await tx.waiting_stay(booking.booking_id)
    outcome = await apply_booking(
        tx.bookings, event.property_id, booking, current=current, push_skew=push_skew
    )
    if outcome.kind != "stale":
        stay = await tx.apply_stay(event.property_id, booking, outcome.reservation_id)
        if stay.note:
            outcome = replace(outcome, note=f"{outcome.note}; {stay.note}")
        if stay.attention:
            outcome = replace(
                outcome,
                note=f"{outcome.note}; needs attention: {stay.attention}",
                needs_attention=True,
            )
    waits = await tx.waiting_stay(booking.booking_id)
    if waited != waits:
        stays = [s for s in (waited, waits) if s is not None]
        await tx.push_waiting_availability(event.property_id, stays, outcome.reservation_id)
    await tx.settle(event.id, outcome.reservation_id, outcome.note)
    return outcome


async def place_all_waiting(conn: Connection, property_id: UUID) -> None:
    """Bookings of the property still waiting for a room get one where one is free now
    (after any booking of the property: a room may have been freed on either side since,
    by Beds24 or by the front desk). A batch does this once per property."""
    for placed in await place_waiting(conn, property_id):
        logger.info(
            "a booking waiting for a room was placed", extra={"reservation_id": str(placed)}
        )


def log_applied(event: ChannelEvent, booking: Booking, outcome: Outcome) -> None:
    APPLIED.labels(outcome.kind, str(outcome.needs_attention).lower()).inc()
    logger.info(
        "booking applied: %s",
        outcome.note,
        extra={
            **_ids(event),
            "booking_id": booking.booking_id,
            "reservation_id": str(outcome.reservation_id),
        },
    )


def _ids(event: ChannelEvent) -> dict[str, Any]:
    return {
        "event_id": str(event.id),
        "idempotency_key": event.idempotency_key,
        "correlation_id": event.correlation_id,
    }
