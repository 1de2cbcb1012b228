"""Bookings of one account in one batch: the current PMS state of each reservation becomes
one item (however many events it had), all items go out in as few `POST /bookings` as the
size limit allows, and each item's result is stored with its events' outcome."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
from channel_sync.beds24 import (
    Beds24Client,
    Beds24Error,
    Beds24Rejected,
    Beds24Unavailable,
    ItemResult,
)
from channel_sync.beds24.credit_budget import CreditBudget
from channel_sync.db import Connection
from channel_sync.errors import PermanentError, RetryAfter
from channel_sync.references import REFERENCE_INFO_CODE, reservation_reference
from channel_sync.repository import ChannelEventRepository

from outbound_worker import pending_creates
from outbound_worker.items import Unmappable, booking_item, cancel_item
from outbound_worker.metrics import record_write
from outbound_worker.outcomes import Outcomes, batch_key, chunks, json_bytes, same_outcome
from outbound_worker.pms_state import (
    Reservation,
    load_reservations,
    mark_pushed,
    store_booking_id,
)

logger = logging.getLogger(__name__)


@dataclass
class BookingWork:
    """One reservation to bring up to date in Beds24, and the events that asked for it."""

    reservation_id: UUID
    property_id: UUID
    beds24_property_id: int
    event_ids: list[UUID]
    # The Beds24 id the events knew of: all that is left of a reservation deleted since.
    known_booking_id: int | None = None


@dataclass(frozen=True)
class _Send:
    work: BookingWork
    item: dict[str, Any]
    creates: bool
    noted: bool = False  # a pending-create note exists: a success settles it


class BookingSync:
    def __init__(self, pool: asyncpg.Pool, budget: CreditBudget, *, max_items: int) -> None:
        self._pool = pool
        self._budget = budget
        self._max_items = max_items
        self._events = ChannelEventRepository()

    async def run(
        self, account_id: str, client: Beds24Client, works: list[BookingWork]
    ) -> Outcomes:
        ids = [w.reservation_id for w in works]
        async with self._pool.acquire() as conn:
            state = await load_reservations(conn, ids)
            noted = await pending_creates.pending(conn, ids)
        outcomes: Outcomes = {}
        sends: list[_Send] = []
        for work in works:
            try:
                planned = await self._plan(
                    account_id,
                    client,
                    work,
                    state.get(work.reservation_id),
                    work.reservation_id in noted,
                )
            except Unmappable as exc:
                outcomes |= same_outcome(work.event_ids, PermanentError(str(exc)))
            except (Beds24Error, RetryAfter, PermanentError) as exc:
                outcomes |= same_outcome(work.event_ids, exc)
            else:
                if isinstance(planned, _Send):
                    sends.append(planned)
                else:
                    await self._finish_without_sending(work, planned)
                    outcomes |= same_outcome(work.event_ids, None)
        creates = [(s.work.reservation_id, s.work.property_id) for s in sends if s.creates]
        if creates:  # committed before sending: a lost answer is then looked up, not repeated
            async with self._pool.acquire() as conn:
                await pending_creates.note(conn, creates)
        for chunk in chunks(sends, self._max_items, weight=lambda s: json_bytes(s.item)):
            outcomes |= await self._send(account_id, client, chunk)
        return outcomes

    async def _plan(
        self,
        account_id: str,
        client: Beds24Client,
        work: BookingWork,
        res: Reservation | None,
        create_pending: bool,
    ) -> _Send | str:
        """What to send for this reservation, or why nothing needs sending."""
        booking_id = res.beds24_booking_id if res else work.known_booking_id
        if booking_id is None and create_pending:
            booking_id = await self._look_up(account_id, client, work)
        if res is None:
            if booking_id is not None:
                return _Send(work, cancel_item(booking_id), creates=False, noted=create_pending)
            return "deleted in the PMS before it reached Beds24: nothing to send"
        if res.status == "cancelled":
            if booking_id is None:
                return "cancelled before it reached Beds24: nothing to send"
            try:  # the whole state, so a cancelled booking still shows the PMS's dates
                return _Send(work, booking_item(res, booking_id), creates=False)
            except Unmappable:
                return _Send(work, cancel_item(booking_id), creates=False)
        return _Send(work, booking_item(res, booking_id), creates=booking_id is None)

    async def _look_up(
        self, account_id: str, client: Beds24Client, work: BookingWork
    ) -> int | None:
        """An earlier create's answer was lost: adopt the booking it made, if it made one."""
        reference = reservation_reference(work.reservation_id)
        found = await self._budget.call(
            account_id,
            lambda: client.find_bookings_by_reference(
                reference, property_id=work.beds24_property_id, info_code=REFERENCE_INFO_CODE
            ),
        )
        ids = sorted(int(b["id"]) for b in found if b.get("id") is not None)
        if not ids:
            logger.info("no Beds24 booking carries %s: creating it", reference)
            return None
        if len(ids) > 1:
            logger.warning("%d Beds24 bookings carry %s; adopting %d", len(ids), reference, ids[0])
        async with self._pool.acquire() as conn:
            try:
                async with conn.transaction():
                    if await store_booking_id(conn, work.reservation_id, ids[0]):
                        await pending_creates.resolved(conn, work.reservation_id)
                    # else deleted: the note stays until the cancel of that booking succeeds
            except asyncpg.UniqueViolationError:
                raise await _already_linked(conn, work.reservation_id, ids[0]) from None
        logger.info("adopted Beds24 booking %d created by an earlier attempt", ids[0])
        return ids[0]

    async def _finish_without_sending(self, work: BookingWork, note: str) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await pending_creates.resolved(conn, work.reservation_id)
            for event_id in work.event_ids:
                await self._events.mark_done(conn, event_id, note=note)

    async def _send(
        self, account_id: str, client: Beds24Client, chunk: Sequence[_Send]
    ) -> Outcomes:
        event_ids = [e for s in chunk for e in s.work.event_ids]
        items, key = [s.item for s in chunk], batch_key("bookings", event_ids)
        sent: list[datetime] = []

        async def write() -> list[ItemResult]:
            sent.append(datetime.now(UTC))  # after any wait for credits
            return await client.write_bookings(items, idempotency_key=key)

        try:
            results = await self._budget.call(account_id, write)
        except (Beds24Error, RetryAfter) as exc:
            record_write("bookings", None, exc)
            return same_outcome(event_ids, exc)
        record_write("bookings", results, None)
        return await self._store(chunk, results, sent[0])

    async def _store(
        self, chunk: Sequence[_Send], results: list[ItemResult], sent_at: datetime
    ) -> Outcomes:
        """Beds24 ids, pending-create notes and done events, in one transaction; each item
        in its own savepoint, so one item's database error cannot undo the others."""
        outcomes: Outcomes = {}
        async with self._pool.acquire() as conn, conn.transaction():
            for send, result in zip(chunk, results, strict=True):
                try:
                    async with conn.transaction():
                        outcome = await self._store_item(conn, send, result, sent_at)
                except asyncpg.UniqueViolationError:
                    outcome = await _already_linked(conn, send.work.reservation_id, result.id)
                outcomes |= same_outcome(send.work.event_ids, outcome)
        return outcomes

    async def _store_item(
        self, conn: Connection, send: _Send, result: ItemResult, sent_at: datetime
    ) -> Exception | None:
        work = send.work
        outcome = _item_outcome(send, result)
        if send.creates and result.id is not None:
            # Not stored (deleted meanwhile): the note stays, so the cancel the
            # deletion queued finds this booking by reference.
            if await store_booking_id(conn, work.reservation_id, result.id):
                await pending_creates.resolved(conn, work.reservation_id)
        elif send.noted and outcome is None:
            await pending_creates.resolved(conn, work.reservation_id)
        if outcome is None:
            await mark_pushed(conn, work.reservation_id, sent_at)
            note = "; ".join(result.warnings)[:500] or None
            for event_id in work.event_ids:
                await self._events.mark_done(conn, event_id, note=note)
        return outcome


async def _already_linked(
    conn: Connection, reservation_id: UUID, booking_id: int | None
) -> PermanentError:
    """The Beds24 id found for a reservation is another one's: an operator must decide."""
    holder = await conn.fetchval(
        "SELECT id FROM reservations WHERE beds24_booking_id = $1", booking_id
    )
    reason = (
        f"Beds24 booking {booking_id} was made for reservation {reservation_id}, but that "
        f"Beds24 id is already linked to reservation {holder}: check both in Beds24 and "
        "link or cancel by hand"
    )
    logger.error("%s", reason)
    return PermanentError(reason)


def _item_outcome(send: _Send, result: ItemResult) -> Exception | None:
    if not result.success:
        try:
            result.raise_for_error()
        except Beds24Rejected as exc:
            return exc
    if send.creates and result.id is None:
        # Created or not, we cannot tell which booking: the retry looks it up by reference.
        return Beds24Unavailable("Beds24 accepted a create without naming the booking id")
    return None
