"""Safety net for lost webhooks: each connected property is polled now and then for every
booking Beds24 modified since the last poll (minus a margin), and each is recorded as an
inbound event with the SAME idempotency key a webhook of that version gets. A version
already received is a duplicate and is skipped; a missed one goes down the usual path (the
relay publishes it, the handler applies it).

One replica at a time polls a property: the poll runs in a transaction holding an advisory
lock on the property, and `last_polled_at` moves (to the poll's start, by the database
clock) only when the poll and its events commit together.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from channel_sync.beds24 import Beds24Error
from channel_sync.beds24.accounts import Account
from channel_sync.beds24.links import PropertyLink
from channel_sync.db import Connection
from channel_sync.errors import ChannelSyncError
from channel_sync.events import Direction, NewChannelEvent
from channel_sync.inbound import ENTITY_TYPE, booking_event_key, booking_event_type
from channel_sync.repository import ChannelEventRepository
from channel_sync.supervision import LoopHealth, supervise
from prometheus_client import Counter

from inbound_worker.beds24_bookings import Beds24Bookings

logger = logging.getLogger(__name__)
_events = ChannelEventRepository()

POLLS = Counter("inbound_worker_polls_total", "Property polls by outcome", ["outcome"])
POLLED_EVENTS = Counter(
    "inbound_worker_polled_events_total", "Bookings a poll found that no webhook had brought"
)


class Poller:
    NAME = "inbound-poller"

    def __init__(
        self,
        pool: asyncpg.Pool,
        beds24: Beds24Bookings,
        *,
        interval_s: float,
        margin_s: float,
        first_lookback_s: float,
        max_attempts: int,
    ) -> None:
        self._pool = pool
        self._beds24 = beds24
        self._interval = timedelta(seconds=interval_s)
        self._margin = timedelta(seconds=margin_s)
        self._first_lookback = timedelta(seconds=first_lookback_s)
        self._max_attempts = max_attempts

    async def run(self, stop: asyncio.Event, health: LoopHealth | None = None) -> None:
        """Poll due properties until `stop`; a failed round is retried after a pause."""
        await supervise(
            self.NAME,
            self.poll_due,
            stop,
            health or LoopHealth(),
            every_s=min(self._interval.total_seconds(), 30.0),
            round_timeout_s=600.0,
        )

    async def poll_due(self) -> int:
        """Poll every property that is due; returns how many were polled."""
        async with self._pool.acquire() as conn:
            due = await conn.fetch(
                """SELECT property_id FROM beds24_properties
                   WHERE poll_enabled AND (last_polled_at IS NULL
                         OR last_polled_at <= now() - make_interval(secs => $1))
                   ORDER BY last_polled_at NULLS FIRST""",
                self._interval.total_seconds(),
            )
        polled = 0
        for row in due:
            try:
                found = await self.poll_property(row["property_id"])
            except (Beds24Error, ChannelSyncError) as exc:
                POLLS.labels("error").inc()
                logger.warning("poll of property %s failed: %s", row["property_id"], exc)
                continue
            polled += found is not None
        return polled

    async def poll_property(self, property_id: UUID, *, force: bool = False) -> int | None:
        """Record the property's missed bookings; None if another replica is polling it or
        it is not due (unless `force`). Returns how many new events were stored."""
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock(hashtextextended('beds24-poll:' || $1, 0))",
                str(property_id),
            ):
                return None
            row = await conn.fetchrow(
                """SELECT beds24_property_id, account_id, refresh_token, last_polled_at,
                          now() AS started,
                          last_polled_at > now() - make_interval(secs => $2) AS recent
                   FROM beds24_properties WHERE property_id = $1 AND poll_enabled""",
                property_id,
                self._interval.total_seconds(),
            )
            if row is None or (row["recent"] and not force):
                return None
            started: datetime = row["started"]
            since = (row["last_polled_at"] or started - self._first_lookback) - self._margin
            account = Account(row["account_id"], row["refresh_token"])
            link = PropertyLink(row["beds24_property_id"], account)
            bookings = await self._beds24.get_bookings(
                link,
                property_ids=[link.beds24_property_id],
                statuses="all",
                modified_from=since,
            )
            stored = await self._record(conn, property_id, bookings)
            await conn.execute(
                "UPDATE beds24_properties SET last_polled_at = $2 WHERE property_id = $1",
                property_id,
                started,
            )
        POLLS.labels("done").inc()
        POLLED_EVENTS.inc(stored)
        log = logger.warning if stored else logger.info
        log(
            "poll of property %s: %d booking(s) seen, %d not received before",
            property_id,
            len(bookings),
            stored,
        )
        return stored

    async def _record(
        self, conn: Connection, property_id: UUID, bookings: list[dict[str, Any]]
    ) -> int:
        usable = [b for b in bookings if isinstance(b.get("id"), int) and b["id"] > 0]
        known = {
            r["beds24_booking_id"]
            for r in await conn.fetch(
                "SELECT beds24_booking_id FROM reservations WHERE beds24_booking_id = ANY($1)",
                [b["id"] for b in usable],
            )
        }
        stored = 0
        for booking in usable:
            event = await _events.create(
                conn,
                NewChannelEvent(
                    property_id=property_id,
                    direction=Direction.INBOUND,
                    event_type=booking_event_type(
                        booking.get("status"), known=booking["id"] in known
                    ),
                    entity_type=ENTITY_TYPE,
                    entity_external_id=str(booking["id"]),
                    idempotency_key=booking_event_key(property_id, booking),
                    payload={"booking": booking, "source": "poll"},
                    max_attempts=self._max_attempts,
                ),
            )
            stored += event is not None
        return stored
