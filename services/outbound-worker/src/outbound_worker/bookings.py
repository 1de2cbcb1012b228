"""Bookings of one account in one batch, in one pass: the reservations' current PMS state is
loaded, every create of unknown outcome resolved at once (`unknown_creates`), each
reservation becomes one item (however many events it had), all items go out in as few
`POST /bookings` as the size limit allows, and each item's result is stored with its
events' outcome."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
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
from channel_sync.repository import ChannelEventRepository

from outbound_worker import pending_creates, stay_groups, unknown_creates
from outbound_worker.items import Unmappable, booking_item, cancel_item, rooms_item
from outbound_worker.metrics import record_write
from outbound_worker.outcomes import (
    MAX_CALL_BYTES,
    Outcomes,
    batch_key,
    json_bytes,
    same_outcome,
)
from outbound_worker.pms_state import (
    Reservation,
    load_reservations,
    mark_pushed,
    qty_rooms_held,
    store_booking_id,
)
from outbound_worker.unknown_creates import UnknownCreate

logger = logging.getLogger(__name__)

# A held room whose group's first room is not made yet tries again after this.
FOLLOWER_RETRY = timedelta(seconds=2)


@dataclass
class BookingWork:
    """One reservation to bring up to date in Beds24, and the events that asked for it."""

    reservation_id: UUID
    property_id: UUID
    beds24_property_id: int
    event_ids: list[UUID]
    # The Beds24 id the events knew of: all that is left of a reservation deleted since.
    known_booking_id: int | None = None
    # For a deleted room 2..n of a roomQty booking: that booking (its count must drop).
    known_qty_booking_id: int | None = None
    stay_id: UUID | None = None  # the multi-room stay it is a room of (`stay_groups`)
    # The PMS moved it to another stay or out of one: Beds24 is sent its new group.
    stay_changed: bool = False


@dataclass(frozen=True)
class _Send:
    work: BookingWork
    item: dict[str, Any]
    creates: bool
    noted: bool = False  # a pending-create note exists: a success settles it
    group: UUID | None = None  # a new Beds24 group: the stay whose rooms it makes
    leads: UUID | None = None  # a plain create whose booking becomes this stay's master
    booking_id: int | None = None  # the booking written, when it is a roomQty booking's


class BookingSync:
    def __init__(self, pool: asyncpg.Pool, budget: CreditBudget, *, max_items: int) -> None:
        self._pool = pool
        self._budget = budget
        self._max_items = max_items
        self._events = ChannelEventRepository()

    async def run(
        self, account_id: str, client: Beds24Client, works: list[BookingWork]
    ) -> Outcomes:
        """One pass: load the reservations' state, resolve every create of unknown outcome
        at once, build the items, send them in as few calls as possible, store results."""
        ids = [w.reservation_id for w in works]
        async with self._pool.acquire() as conn:
            state = await load_reservations(conn, ids)
            noted = await pending_creates.pending(conn, ids)
            qty_held = await qty_rooms_held(
                conn,
                [
                    w.known_qty_booking_id
                    for w in works
                    if w.known_qty_booking_id is not None and w.reservation_id not in state
                ],
            )
        outcomes: Outcomes = {}
        booking_ids = {w.reservation_id: _known_booking_id(w, state) for w in works}
        unknown = [
            UnknownCreate(w.reservation_id, w.beds24_property_id, noted[w.reservation_id])
            for w in works
            if w.reservation_id in noted and booking_ids[w.reservation_id] is None
        ]
        if unknown:
            undecided = {u.reservation_id for u in unknown}
            try:
                made = await unknown_creates.resolve(self._budget, account_id, client, unknown)
            except (Beds24Error, RetryAfter) as exc:  # cannot tell: those wait, others go on
                for work in works:
                    if work.reservation_id in undecided:
                        outcomes |= same_outcome(work.event_ids, exc)
                works = [w for w in works if w.reservation_id not in undecided]
            else:
                adopted = {r: b for r, b in made.items() if b is not None}
                clashes = await self._adopt(adopted)
                for work in works:
                    if work.reservation_id in clashes:
                        outcomes |= same_outcome(work.event_ids, clashes[work.reservation_id])
                works = [w for w in works if w.reservation_id not in clashes]
                booking_ids |= adopted
        sends: list[_Send] = []
        finished: list[tuple[BookingWork, str]] = []
        for work in works:
            try:
                planned = _plan(
                    work,
                    state.get(work.reservation_id),
                    booking_ids[work.reservation_id],
                    work.reservation_id in noted,
                    qty_held,
                )
            except Unmappable as exc:
                outcomes |= same_outcome(work.event_ids, PermanentError(str(exc)))
                continue
            if isinstance(planned, _Send):
                sends.append(planned)
            else:
                finished.append((work, planned))
        async with self._pool.acquire() as conn, conn.transaction():
            await self._finish_without_sending(conn, finished)
            sends, waiting = await _creates_allowed(conn, sends)
            for send in waiting:
                outcomes |= same_outcome(send.work.event_ids, _matching())
            sends, held = _leaders_first(await _grouped(conn, sends, state))
            # Committed before sending: a lost answer is then looked up, not repeated.
            await pending_creates.note(conn, _creates(sends))
        for work, _ in finished:
            outcomes |= same_outcome(work.event_ids, None)
        outcomes |= await self._send_all(account_id, client, sends)
        if held:
            outcomes |= await self._send_followers(account_id, client, held)
        return outcomes

    async def _send_all(
        self, account_id: str, client: Beds24Client, sends: list[_Send]
    ) -> Outcomes:
        outcomes: Outcomes = {}
        for chunk in stay_groups.chunked(
            sends,
            self._max_items,
            weight=lambda s: json_bytes(s.item),
            group=lambda s: s.group,
            max_bytes=MAX_CALL_BYTES,
        ):
            outcomes |= await self._send(account_id, client, chunk)
        return outcomes

    async def _send_followers(
        self, account_id: str, client: Beds24Client, held: list[_Send]
    ) -> Outcomes:
        """The other rooms of several new groups, once each group's first room is made:
        all in one more call, each joined to its group by `masterId`. A room whose group
        has no master yet (its first room's create failed or is in doubt) waits for the
        retry, which resolves that create first."""
        outcomes: Outcomes = {}
        async with self._pool.acquire() as conn, conn.transaction():
            masters = await stay_groups.masters(conn, list({s.group for s in held if s.group}))
            ready = [
                replace(s, item={**_without_actions(s.item), "masterId": master}, group=None)
                for s in held
                if s.group is not None and (master := masters.get(s.group)) is not None
            ]
            await pending_creates.note(conn, _creates(ready))
        joined = {s.work.reservation_id for s in ready}
        later = RetryAfter(
            "the first room of its stay is not in Beds24 yet",
            datetime.now(UTC) + FOLLOWER_RETRY,
        )
        for send in held:
            if send.work.reservation_id not in joined:
                outcomes |= same_outcome(send.work.event_ids, later)
        return outcomes | await self._send_all(account_id, client, ready)

    async def _adopt(self, adopted: dict[UUID, int]) -> dict[UUID, Exception]:
        """Store the Beds24 ids earlier creates made, in one transaction (a savepoint each);
        answers the reservations whose id is already another's (an operator must decide)."""
        clashes: dict[UUID, Exception] = {}
        if not adopted:
            return clashes
        async with self._pool.acquire() as conn, conn.transaction():
            for reservation_id, booking_id in sorted(adopted.items()):  # in lock order
                try:
                    async with conn.transaction():
                        if await store_booking_id(conn, reservation_id, booking_id):
                            await pending_creates.resolved(conn, reservation_id)
                        # else deleted: the note stays until the cancel of that booking succeeds
                except asyncpg.UniqueViolationError:
                    clashes[reservation_id] = await _already_linked(
                        conn, reservation_id, booking_id
                    )
        logger.info("adopted %d Beds24 bookings made by earlier creates", len(adopted))
        return clashes

    async def _finish_without_sending(
        self, conn: Connection, finished: list[tuple[BookingWork, str]]
    ) -> None:
        for work, note in finished:
            await pending_creates.resolved(conn, work.reservation_id)
            await self._events.mark_many_done(conn, work.event_ids, note=note)

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
        masters: dict[UUID, int] = {}  # a new group's master: its first booking made
        for send, result in zip(chunk, results, strict=True):
            stay = send.group or send.leads
            if stay is not None and send.creates and result.id is not None:
                masters.setdefault(stay, result.id)
            joined = send.item.get("masterId")
            if send.work.stay_id is not None and isinstance(joined, int) and result.success:
                masters.setdefault(send.work.stay_id, joined)  # the group it joined
        async with self._pool.acquire() as conn, conn.transaction():
            for stay_id, master in masters.items():
                await stay_groups.store_master(conn, stay_id, master)
            # In reservation order: transactions locking several reservations agree on it.
            paired = zip(chunk, results, strict=True)
            for send, result in sorted(paired, key=lambda p: p[0].work.reservation_id):
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
            await mark_pushed(conn, work.reservation_id, sent_at, send.booking_id)
            note = "; ".join(result.warnings)[:500] or None
            await self._events.mark_many_done(conn, work.event_ids, note=note)
        return outcome


# While a property's initial sync has not read all of Beds24 (or has found the reservation's
# Beds24 booking, matched by its code or our reference, and not yet linked it), a create
# could double a stay Beds24 already holds: it waits (not counted as an attempt).
_MATCHING_WAIT = timedelta(seconds=5)


def _matching() -> RetryAfter:
    return RetryAfter(
        "the property's initial sync is matching the PMS's reservations with Beds24's "
        "bookings: a create waits until this one is known not to be in Beds24",
        datetime.now(UTC) + _MATCHING_WAIT,
    )


async def _creates_allowed(conn: Connection, sends: list[_Send]) -> tuple[list[_Send], list[_Send]]:
    """The sends that may go now, and the creates that wait for an initial sync's matching."""
    creating = {s.work.property_id for s in sends if s.creates}
    if not creating:
        return sends, []
    runs = {
        r["property_id"]: r
        for r in await conn.fetch(
            """SELECT property_id, status, stage, cursor->'claimed' AS claimed FROM sync_runs
               WHERE kind = 'initial' AND status IN ('requested', 'running')
                 AND property_id = ANY($1::uuid[])""",
            list(creating),
        )
    }
    go: list[_Send] = []
    wait: list[_Send] = []
    for send in sends:
        run = runs.get(send.work.property_id) if send.creates else None
        reading = run is not None and (run["status"] == "requested" or run["stage"] == "bookings")
        claimed = run is not None and str(send.work.reservation_id) in (run["claimed"] or [])
        (wait if reading or claimed else go).append(send)
    return go, wait


def _known_booking_id(work: BookingWork, state: dict[UUID, Reservation]) -> int | None:
    res = state.get(work.reservation_id)
    return res.beds24_booking_id if res else work.known_booking_id


def _plan(
    work: BookingWork,
    res: Reservation | None,
    booking_id: int | None,
    create_pending: bool,
    qty_held: dict[int, int],
) -> _Send | str:
    """What to send for this reservation, or why nothing needs sending. `qty_held`: the
    rooms still held of each roomQty booking a deleted extra room belonged to."""
    if res is not None and res.qty_booking_id is not None:  # an extra room of a roomQty booking
        booking = res.qty_booking_id
        return _Send(work, rooms_item(booking, res.qty_rooms or 0), False, booking_id=booking)
    if res is None and (qty_booking := work.known_qty_booking_id) is not None:  # deleted
        rooms = qty_held.get(qty_booking, 0)
        return _Send(work, rooms_item(qty_booking, rooms), False, booking_id=qty_booking)
    if res is not None and res.status == "cancelled" and res.qty_rooms and booking_id:
        return _Send(work, rooms_item(booking_id, res.qty_rooms), False, booking_id=booking_id)
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


async def _grouped(
    conn: Connection, sends: list[_Send], state: dict[UUID, Reservation]
) -> list[_Send]:
    """Creates of a stay's rooms: joined to its Beds24 group (`masterId`) when it has one,
    else made a new group together (`actions.makeGroup`); see `stay_groups`. A booking the
    PMS moved to another stay is sent that stay's group (`masterId`: its master, or its own
    id when no other room of the stay is in Beds24), or none once out of every stay."""
    stay_of = {
        s.work.reservation_id: stay
        for s in sends
        if (s.creates or _regrouped(s))
        and (stay := _stay_of(state.get(s.work.reservation_id))) is not None
    }
    masters = await stay_groups.masters(conn, list(set(stay_of.values()))) if stay_of else {}
    grouped = []
    for send in sends:
        stay = stay_of.get(send.work.reservation_id)
        if _regrouped(send):
            own = send.item["id"]
            master = None if stay is None else (masters.get(stay) or own)
            grouped.append(replace(send, item={**send.item, "masterId": master}))
        elif stay is None:
            grouped.append(send)
        elif (master := masters.get(stay)) is not None:
            grouped.append(replace(send, item={**send.item, "masterId": master}))
        else:
            item = {**send.item, "actions": {"makeGroup": True}}
            grouped.append(replace(send, item=item, group=stay))
    return grouped


def _regrouped(send: _Send) -> bool:
    """A modify of a whole booking whose stay the PMS changed (a roomQty booking's rooms
    share one booking: their stay follows it)."""
    return (
        send.work.stay_changed
        and not send.creates
        and isinstance(send.item.get("id"), int)
        and "roomQty" not in send.item
        and send.item.get("status") != "cancelled"
    )


def _leaders_first(sends: list[_Send]) -> tuple[list[_Send], list[_Send]]:
    """`makeGroup` joins every new booking of a call that sets it, so one call can make one
    new group. With several, each group's first room goes as a plain create that becomes
    its master, beside everything else, and the other rooms are held for one more call
    that joins them by `masterId`: two calls for any number of new groups, not one each."""
    if len({s.group for s in sends if s.group is not None}) <= 1:
        return sends, []
    first: list[_Send] = []
    held: list[_Send] = []
    led: set[UUID] = set()
    for send in sends:
        if send.group is None:
            first.append(send)
        elif send.group in led:
            held.append(send)
        else:
            led.add(send.group)
            item = _without_actions(send.item)
            first.append(replace(send, item=item, group=None, leads=send.group))
    return first, held


def _without_actions(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "actions"}


def _creates(sends: list[_Send]) -> list[tuple[UUID, UUID]]:
    return [(s.work.reservation_id, s.work.property_id) for s in sends if s.creates]


def _stay_of(res: Reservation | None) -> UUID | None:
    return res.stay_id if res is not None else None


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
