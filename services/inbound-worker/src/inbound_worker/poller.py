"""Safety net for lost webhooks: each connected property is polled now and then for every
booking Beds24 modified since the last poll (minus a margin), and each is recorded as an
inbound event with the SAME idempotency key a webhook of that version gets. A version
already received is a duplicate and is skipped; a version the PMS holds as it is (our own
API writes, which Beds24 sends no webhook for) would change nothing and is skipped too; a
missed one goes down the usual path (the relay publishes it, the handler applies it).

Credits are the account's, so the poll asks per account: once any property of an account is
due, all of its properties go in ONE search (`propertyId` repeated, `modifiedFrom` the
earliest of their last polls minus the margin) and share one last poll from then on, so an
account costs one search per POLL_INTERVAL_S whatever its number of properties or when they
were connected (pages and chunks of MAX_PROPERTIES_PER_CALL aside); the searches per
account are counted in `inbound_worker_poll_searches_total`.

One replica at a time polls an account: the poll runs in a transaction holding an advisory
lock on the account, and each property's `last_polled_at` moves (to the poll's start, by
the database clock) only when the poll and its events commit together.
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
from channel_sync.errors import ChannelSyncError, PermanentError
from channel_sync.events import Direction, NewChannelEvent
from channel_sync.inbound import ENTITY_TYPE, booking_event_key, booking_event_type
from channel_sync.repository import ChannelEventRepository
from channel_sync.supervision import LoopHealth, supervise
from prometheus_client import Counter

from inbound_worker import reservations
from inbound_worker.beds24_bookings import Beds24Bookings
from inbound_worker.booking import Booking, read_booking

logger = logging.getLogger(__name__)
_events = ChannelEventRepository()

# Properties asked for in one search: Beds24 repeats `propertyId` in the query string, and
# a few hundred keep it far under any URL limit.
MAX_PROPERTIES_PER_CALL = 100

POLLS = Counter("inbound_worker_polls_total", "Property polls by outcome", ["outcome"])
POLL_CALLS = Counter(
    "inbound_worker_poll_searches_total",
    "Beds24 booking searches the poller made, by account (one per account and round, "
    "more only past MAX_PROPERTIES_PER_CALL properties or pages)",
    ["account_id"],
)
# Beds24 sends no webhook for a booking written through the API (ours included), so versions
# of bookings the PMS holds are found by every poll after our writes: only a booking the PMS
# does not hold at all is surely a webhook lost.
POLLED_EVENTS = Counter(
    "inbound_worker_polled_events_total",
    "Booking versions a poll found that no webhook had brought, by whether the PMS held "
    "the booking (known: often our own API writes, which Beds24 sends no webhook for; "
    "new: a booking only the poll brought); versions the PMS holds as they are are not "
    "recorded",
    ["booking"],
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
        """Poll every property that is due, one Beds24 search per account (and chunk of
        `MAX_PROPERTIES_PER_CALL`); returns how many properties were polled."""
        async with self._pool.acquire() as conn:
            # Every property of an account with one due: polled together, they share one
            # last poll from then on, so properties connected at different moments do not
            # keep costing a search each.
            due = await conn.fetch(
                """SELECT property_id, account_id FROM beds24_properties
                   WHERE poll_enabled AND account_id IN (
                       SELECT account_id FROM beds24_properties
                       WHERE poll_enabled AND (last_polled_at IS NULL
                             OR last_polled_at <= now() - make_interval(secs => $1)))
                   ORDER BY account_id, last_polled_at NULLS FIRST, property_id""",
                self._interval.total_seconds(),
            )
        by_account: dict[str, list[UUID]] = {}
        for row in due:
            by_account.setdefault(row["account_id"], []).append(row["property_id"])
        polled = 0
        for account_id, properties in by_account.items():
            for at in range(0, len(properties), MAX_PROPERTIES_PER_CALL):
                chunk = properties[at : at + MAX_PROPERTIES_PER_CALL]
                try:
                    found = await self.poll_account(account_id, chunk)
                except (Beds24Error, ChannelSyncError) as exc:
                    POLLS.labels("error").inc()
                    logger.warning("poll of account %s failed: %s", account_id, exc)
                    continue
                polled += len(found)
        return polled

    async def poll_property(self, property_id: UUID, *, force: bool = False) -> int | None:
        """Poll one property now (its account's search, for it alone); None if another
        replica is polling its account or it is not due (unless `force`). Returns how many
        new events were stored."""
        async with self._pool.acquire() as conn:
            account_id = await conn.fetchval(
                "SELECT account_id FROM beds24_properties WHERE property_id = $1", property_id
            )
        if account_id is None:
            return None
        found = await self.poll_account(account_id, [property_id], force=force)
        return found.get(property_id)

    async def poll_account(
        self, account_id: str, property_ids: list[UUID], *, force: bool = False
    ) -> dict[UUID, int]:
        """Record the missed bookings of these properties of one account with ONE search
        (`propertyId` repeated, modified since the earliest of their last polls minus the
        margin), all of them once any is due; answers the new events stored per property
        polled (none while another replica polls the account, or when none of them is due
        unless `force`)."""
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock(hashtextextended('beds24-poll:' || $1, 0))",
                account_id,
            ):
                return {}
            rows = await conn.fetch(
                """SELECT property_id, beds24_property_id, refresh_token, last_polled_at,
                          now() AS started,
                          last_polled_at > now() - make_interval(secs => $3) AS recent
                   FROM beds24_properties
                   WHERE property_id = ANY($1::uuid[]) AND account_id = $2 AND poll_enabled
                   ORDER BY updated_at DESC, property_id""",
                property_ids,
                account_id,
                self._interval.total_seconds(),
            )
            # One due is enough to poll them all (and align them); none due, no search.
            if not rows or not (force or any(not r["recent"] for r in rows)):
                return {}
            started: datetime = rows[0]["started"]
            since = (
                min((r["last_polled_at"] or started - self._first_lookback) for r in rows)
                - self._margin
            )
            # The account's newest token (rows are newest first), as `links_of` picks it.
            link = PropertyLink(
                rows[0]["beds24_property_id"], Account(account_id, rows[0]["refresh_token"])
            )
            bookings = await self._beds24.get_bookings(
                link,
                property_ids=[r["beds24_property_id"] for r in rows],
                statuses="all",
                modified_from=since,
            )
            ours = {r["beds24_property_id"]: r["property_id"] for r in rows}
            stored: dict[UUID, int] = {}
            new_bookings = 0
            for row in rows:
                of_property = [
                    b for b in bookings if b.get("propertyId") == row["beds24_property_id"]
                ]
                versions, new = await self._record(conn, row["property_id"], of_property)
                stored[row["property_id"]] = versions
                new_bookings += new
            await conn.execute(
                """UPDATE beds24_properties SET last_polled_at = $2
                   WHERE property_id = ANY($1::uuid[])""",
                list(stored),
                started,
            )
        POLLS.labels("done").inc()
        POLL_CALLS.labels(account_id).inc()
        found = sum(stored.values())
        POLLED_EVENTS.labels("new").inc(new_bookings)
        POLLED_EVENTS.labels("known").inc(found - new_bookings)
        log = logger.warning if new_bookings else logger.info
        log(
            "poll of account %s (%d properties): %d booking(s) seen, %d version(s) no webhook "
            "brought, %d of them of bookings the PMS did not hold",
            account_id,
            len(stored),
            sum(1 for b in bookings if b.get("propertyId") in ours),
            found,
            new_bookings,
        )
        return stored

    async def _record(
        self, conn: Connection, property_id: UUID, bookings: list[dict[str, Any]]
    ) -> tuple[int, int]:
        """Store each version not received before, unless the PMS holds it as it is (our
        own writes, mostly: Beds24 sends no webhook for them, and applied they would change
        nothing); (versions stored, of them versions of bookings the PMS does not hold)."""
        usable = [b for b in bookings if isinstance(b.get("id"), int) and b["id"] > 0]
        known = {
            r["beds24_booking_id"]
            for r in await conn.fetch(
                "SELECT beds24_booking_id FROM reservations WHERE beds24_booking_id = ANY($1)",
                [b["id"] for b in usable],
            )
        }
        held = await reservations.held_as_is(
            conn, _readable([b for b in usable if b["id"] in known])
        )
        stored = new = 0
        for booking in usable:
            if booking["id"] in held:
                continue
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
            new += event is not None and booking["id"] not in known
        return stored, new


def _readable(bookings: list[dict[str, Any]]) -> list[Booking]:
    """The bookings as the PMS would read them; one it cannot read is left out (recorded,
    its event fails with the reason)."""
    found = []
    for raw in bookings:
        try:
            found.append(read_booking(raw))
        except PermanentError:
            continue
    return found
