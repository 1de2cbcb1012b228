"""The calendar of one account in one batch: per Beds24 room, the nights its events name
(merged), computed from the PMS as it is now (availability, and prices and restrictions
where the property manages them: `channel_sync.pms_calendar`), sent as compressed ranges in
as few `POST /inventory/rooms/calendar` as the size limit allows."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from channel_sync.beds24 import (
    Beds24Client,
    Beds24Error,
    Beds24Rejected,
    ItemResult,
    calendar_item,
)
from channel_sync.beds24.credit_budget import CreditBudget
from channel_sync.errors import PermanentError, RetryAfter
from channel_sync.pms_calendar import calendar_values, unmapped_rate_plan
from channel_sync.repository import ChannelEventRepository

from outbound_worker.metrics import record_write
from outbound_worker.outcomes import Outcomes, batch_key, chunks, json_bytes, same_outcome
from outbound_worker.pms_state import availability

# Longest run of nights one event may ask for (a guard against a runaway range).
MAX_NIGHTS = 1000
# Nights before this many days ago are history: not worth a Beds24 write.
PAST_DAYS_KEPT = 1


@dataclass
class RoomWork:
    """One Beds24 room to bring up to date, for the union of its events' nights."""

    property_id: UUID
    beds24_room_id: str
    nights: set[date] = field(default_factory=set)
    event_ids: list[UUID] = field(default_factory=list)
    # Price events by the rate plan they name: one whose plan has no slot fails alone.
    rate_plans: dict[UUID, list[UUID]] = field(default_factory=dict)


def nights_of(payload: Mapping[str, Any], *, today: date, horizon_days: int) -> set[date]:
    """The nights an availability event names, from yesterday on; `to` None = horizon.

    Raises ValueError for a payload that names no dates."""
    first = date.fromisoformat(str(payload["from"]))
    last = (
        date.fromisoformat(str(payload["to"]))
        if payload.get("to") is not None
        else today + timedelta(days=horizon_days - 1)
    )
    first = max(first, today - timedelta(days=PAST_DAYS_KEPT))
    last = min(last, first + timedelta(days=MAX_NIGHTS - 1))
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


class AvailabilitySync:
    def __init__(
        self,
        pool: asyncpg.Pool,
        budget: CreditBudget,
        *,
        max_items: int,
        interval_s: float = 0.0,
    ) -> None:
        self._pool = pool
        self._budget = budget
        self._max_items = max_items
        self._interval_s = interval_s
        self._last_write: dict[str, float] = {}  # account -> loop time of its last write
        self._events = ChannelEventRepository()

    async def run(self, account_id: str, client: Beds24Client, works: list[RoomWork]) -> Outcomes:
        outcomes: Outcomes = {}
        ready: list[tuple[RoomWork, dict[str, Any]]] = []
        for work in works:
            outcomes |= await self._refuse_unmapped(work)
            if not work.event_ids:
                continue
            if not work.nights:
                await self._mark_done(work, "only past nights: nothing to send")
                outcomes |= same_outcome(work.event_ids, None)
                continue
            try:
                room_id = int(work.beds24_room_id)
            except ValueError:
                reason = (
                    f"Beds24 room id {work.beds24_room_id!r} in channel_mappings is not a number"
                )
                outcomes |= same_outcome(work.event_ids, PermanentError(reason))
                continue
            nights = sorted(work.nights)
            try:
                async with self._pool.acquire() as conn:
                    free = await availability(conn, work.property_id, work.beds24_room_id, nights)
                    ari = await calendar_values(conn, work.property_id, work.beds24_room_id, nights)
            except PermanentError as exc:
                outcomes |= same_outcome(work.event_ids, exc)
                continue
            days = {night: {"numAvail": n, **ari.get(night, {})} for night, n in free.items()}
            ready.append((work, calendar_item(room_id, days)))
        if ready:
            await self._spaced(account_id)
        for chunk in chunks(ready, self._max_items, weight=lambda r: json_bytes(r[1])):
            outcomes |= await self._send(account_id, client, chunk)
        return outcomes

    async def _spaced(self, account_id: str) -> None:
        """Wait (at most the interval) until the account's last calendar write is
        `interval_s` old: what arrives meanwhile is sent by the next write, not its own."""
        loop = asyncio.get_running_loop()
        last = self._last_write.get(account_id)
        if last is not None and (wait := last + self._interval_s - loop.time()) > 0:
            await asyncio.sleep(min(wait, self._interval_s))
        self._last_write[account_id] = loop.time()

    async def _refuse_unmapped(self, work: RoomWork) -> Outcomes:
        """Price events of a rate plan with no Beds24 slot fail permanently, naming the fix
        (the room's other events go on: its calendar is sent without that plan)."""
        outcomes: Outcomes = {}
        if not work.rate_plans:
            return outcomes
        async with self._pool.acquire() as conn:
            for plan, event_ids in work.rate_plans.items():
                reason = await unmapped_rate_plan(conn, plan)
                if reason is not None:
                    outcomes |= same_outcome(event_ids, PermanentError(reason))
        work.event_ids = [e for e in work.event_ids if e not in outcomes]
        return outcomes

    async def _send(
        self,
        account_id: str,
        client: Beds24Client,
        chunk: Sequence[tuple[RoomWork, dict[str, Any]]],
    ) -> Outcomes:
        event_ids = [e for work, _ in chunk for e in work.event_ids]
        items, key = [item for _, item in chunk], batch_key("calendar", event_ids)
        try:
            results = await self._budget.call(
                account_id, lambda: client.write_calendar(items, idempotency_key=key)
            )
        except (Beds24Error, RetryAfter) as exc:
            record_write("calendar", None, exc)
            return same_outcome(event_ids, exc)
        record_write("calendar", results, None)
        outcomes: Outcomes = {}
        for (work, _), result in zip(chunk, results, strict=True):
            outcome = _item_outcome(result)
            if outcome is None:
                await self._mark_done(work, None)
            outcomes |= same_outcome(work.event_ids, outcome)
        return outcomes

    async def _mark_done(self, work: RoomWork, note: str | None) -> None:
        async with self._pool.acquire() as conn:
            await self._events.mark_many_done(conn, work.event_ids, note=note)


def _item_outcome(result: ItemResult) -> Exception | None:
    try:
        result.raise_for_error()
    except Beds24Rejected as exc:
        return exc
    return None
