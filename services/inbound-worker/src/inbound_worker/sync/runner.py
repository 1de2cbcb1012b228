"""The supervised loop that moves initial syncs and reconciliations forward.

Each round requests the reconciliations the schedule makes due, then steps every unfinished
run until it is done or must wait. A step is ONE transaction: it takes the property's
advisory lock (one replica at a time per property, as the poller), reads Beds24 once (a
page of bookings, or the calendar of every room), records events and drift, and saves the
run's cursor. A step that fails (Beds24 down, credits low, a crash) commits nothing; the
run resumes from its saved cursor on a later round, in this process or another.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
from channel_sync.beds24 import Beds24Error
from channel_sync.beds24.links import link_of
from channel_sync.errors import ChannelSyncError
from channel_sync.supervision import LoopHealth, supervise

from inbound_worker.beds24_bookings import Beds24Bookings
from inbound_worker.sync import drift, pms_side, runs
from inbound_worker.sync.availability_stage import AvailabilityStage
from inbound_worker.sync.bookings_stage import BookingsStage
from inbound_worker.sync.metrics import SYNC_BOOKINGS, SYNC_RUNS, SYNC_STEPS
from inbound_worker.sync.reservations_stage import compare_reservations

logger = logging.getLogger(__name__)


class SyncRunner:
    NAME = "sync-runner"

    def __init__(
        self,
        pool: asyncpg.Pool,
        beds24: Beds24Bookings,
        *,
        every_s: float,
        reconcile_interval_s: float,
        horizon_days: int,
        settle_s: float,
        max_attempts: int,
    ) -> None:
        self._pool = pool
        self._beds24 = beds24
        self._every_s = every_s
        self._reconcile_interval_s = reconcile_interval_s
        self._bookings = BookingsStage(max_attempts=max_attempts)
        self._availability = AvailabilityStage(beds24, horizon_days=horizon_days, settle_s=settle_s)

    async def run(self, stop: asyncio.Event, health: LoopHealth | None = None) -> None:
        await supervise(
            self.NAME,
            self.round,
            stop,
            health or LoopHealth(),
            every_s=self._every_s,
            round_timeout_s=600.0,
        )

    async def round(self) -> int:
        """Schedule due reconciliations, then step every unfinished run; how many steps."""
        async with self._pool.acquire() as conn:
            if self._reconcile_interval_s > 0:
                await runs.schedule_due(conn, self._reconcile_interval_s)
            pending = await runs.unfinished(conn)
        steps = 0
        for run_id in pending:
            while await self.step(run_id):
                steps += 1
        return steps

    async def step(self, run_id: UUID) -> bool:
        """One step of the run; True if it took one and the next may follow at once."""
        try:
            return await self._step(run_id)
        except (Beds24Error, ChannelSyncError) as exc:
            logger.warning("sync run %s: step failed, resumes later: %s", run_id, exc)
            async with self._pool.acquire() as conn:
                await runs.note_error(conn, run_id, str(exc))
            return False

    async def _step(self, run_id: UUID) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            run = await runs.claim(conn, run_id)
            if run is None:
                return False
            link = await link_of(conn, run.property_id)
            if link is None:
                await runs.note_error(conn, run.id, "the property has no Beds24 link")
                return False
            stage, today, more = run.stage, datetime.now(UTC).date(), True
            if stage == "bookings":
                # Anything Beds24 stamps or we write from here on may be missing from the
                # pages read (see `reservations_stage`).
                run.cursor.setdefault("read_from", datetime.now(UTC).isoformat())
                page = int(run.cursor.get("page", 1))
                bookings, next_page = await self._beds24.get_bookings_page(
                    link,
                    page,
                    property_ids=[link.beds24_property_id],
                    statuses="all",
                    departure_from=today,
                )
                policy = await pms_side.policy_of(conn, run.property_id)
                await self._bookings.compare_page(conn, run, policy, bookings)
                SYNC_BOOKINGS.labels(run.kind).inc(len(bookings))
                run.count("pages")
                run.cursor["page"] = page + 1
                run.stage = "bookings" if next_page else "reservations"
            elif stage == "reservations":
                await compare_reservations(conn, run, today)
                run.stage = "availability"
            elif stage == "availability":
                more = await self._availability.step(conn, run, link, today)
                if more:
                    run.stage = "finished"
                    if run.kind == "reconcile":
                        run.count(
                            "drift_resolved",
                            await drift.resolve_unseen(conn, run.property_id, run.id),
                        )
            await runs.save(conn, run)
        SYNC_STEPS.labels(run.kind, stage).inc()
        if run.stage == "finished":
            SYNC_RUNS.labels(run.kind).inc()
            logger.info("sync run %s (%s) done: %s", run.id, run.kind, run.progress)
            return False
        return more
