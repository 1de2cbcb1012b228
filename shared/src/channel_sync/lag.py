"""How far behind the sync is, read from Postgres and exported as metrics by each worker.

Every `every_s` a worker reports, for its direction:
- per property, the age of its oldest event not yet `done` or `failed` (the lag an
  operator sees on the console's property health, and what the alert on pending events
  watches), and the largest of them for the direction;
the outbound worker also each account's Beds24 credits left; the inbound worker also:
- per property, when Beds24's last webhook reached us (the "no webhook for N hours" alert);
- the oldest last poll of a property that is polled (the missed-webhook poller's lag);
- the oldest sync run waiting or running (initial syncs and reconciliations).

A round is one read-only query per figure, each on an index (`idx_channel_events_status`
for pending events; webhooks only within `WEBHOOK_WINDOW`, newest first).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from uuid import UUID

import asyncpg
from prometheus_client import Gauge

from channel_sync.events import Direction
from channel_sync.supervision import LoopHealth, supervise

logger = logging.getLogger(__name__)

# A property with no webhook in this window reports the window's start (the alert's N hours
# must be shorter).
WEBHOOK_WINDOW = timedelta(hours=48)

OLDEST_PENDING = Gauge(
    "channel_sync_oldest_pending_event_age_seconds",
    "Age of the oldest event not yet done or failed, by direction",
    ["direction"],
)
PROPERTY_OLDEST_PENDING = Gauge(
    "channel_sync_property_oldest_pending_event_age_seconds",
    "Age of a property's oldest event not yet done or failed (0: none), by direction",
    ["property_id", "direction"],
)
PROPERTY_LAST_WEBHOOK = Gauge(
    "channel_sync_property_last_webhook_timestamp_seconds",
    "When Beds24's last webhook for a connected property was stored (the start of the "
    "48 h window when none came in it)",
    ["property_id"],
)
OLDEST_POLL = Gauge(
    "channel_sync_poll_oldest_age_seconds",
    "Seconds since the least recently polled property (with polling on) was polled",
)
CREDITS_REMAINING = Gauge(
    "channel_sync_beds24_credits_remaining",
    "Beds24 credits an account has left in its current five-minute window, as last answered",
    ["account_id"],
)
OLDEST_SYNC_RUN = Gauge(
    "channel_sync_sync_run_oldest_waiting_age_seconds",
    "Age of the oldest initial sync or reconciliation requested and not finished (0: none)",
)

_PENDING = """
    SELECT property_id, extract(epoch FROM now() - min(received_at))::float8 AS age_s
    FROM channel_events
    WHERE status IN ('received', 'processing') AND direction = $1
    GROUP BY property_id
"""
_WEBHOOKS = """
    SELECT b.property_id, extract(epoch FROM coalesce(w.last_at, now() - $1::interval))::float8
           AS at_s
    FROM beds24_properties b
    LEFT JOIN (
        SELECT property_id, max(received_at) AS last_at FROM channel_events
        WHERE received_at > now() - $1::interval AND direction = 'inbound'
          AND coalesce(payload->>'source', '') <> 'poll'
        GROUP BY property_id
    ) w ON w.property_id = b.property_id
"""
_POLL = """
    SELECT coalesce(extract(epoch FROM now() - min(last_polled_at)), 0)::float8
    FROM beds24_properties WHERE poll_enabled
"""
_CREDITS = """
    SELECT account_id, remaining::float8 FROM beds24_credit_budgets
    WHERE remaining IS NOT NULL AND resets_at > now()
"""
_SYNC = """
    SELECT coalesce(extract(epoch FROM now() - min(requested_at)), 0)::float8
    FROM sync_runs WHERE status IN ('requested', 'running')
"""


class LagReport:
    NAME = "lag-report"

    def __init__(self, pool: asyncpg.Pool, direction: Direction, *, every_s: float = 15.0):
        self._pool = pool
        self._direction = direction
        self._every_s = every_s
        self._reported: set[UUID] = set()

    @property
    def name(self) -> str:
        return f"{self._direction}-{self.NAME}"

    async def run(self, stop: asyncio.Event, health: LoopHealth) -> None:
        await supervise(self.name, self.round, stop, health, every_s=self._every_s)

    async def round(self) -> None:
        direction = str(self._direction)
        async with self._pool.acquire() as conn:
            pending = {r["property_id"]: r["age_s"] for r in await conn.fetch(_PENDING, direction)}
            inbound = self._direction is Direction.INBOUND
            webhooks = await conn.fetch(_WEBHOOKS, WEBHOOK_WINDOW) if inbound else []
            poll_age: float = await conn.fetchval(_POLL) if inbound else 0.0
            sync_age: float = await conn.fetchval(_SYNC) if inbound else 0.0
            credits = [] if inbound else await conn.fetch(_CREDITS)
        OLDEST_PENDING.labels(direction).set(max(pending.values(), default=0.0))
        for property_id in self._reported - pending.keys():
            PROPERTY_OLDEST_PENDING.labels(str(property_id), direction).set(0)
        for property_id, age in pending.items():
            PROPERTY_OLDEST_PENDING.labels(str(property_id), direction).set(age)
        self._reported |= pending.keys()
        for row in webhooks:
            PROPERTY_LAST_WEBHOOK.labels(str(row["property_id"])).set(row["at_s"])
        for row in credits:
            CREDITS_REMAINING.labels(row["account_id"]).set(row["remaining"])
        if inbound:
            OLDEST_POLL.set(poll_age)
            OLDEST_SYNC_RUN.set(sync_age)
