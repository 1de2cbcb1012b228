"""Composition root: builds the outbound worker's parts and runs them until told to stop.

relay:     outbound channel_events still `received` → pms.events (pms.#)
consumer:  pms.outbound → batches → handler → Beds24 (bookings, then calendar)
health:    /healthz /readyz /metrics on HTTP_HOST:HTTP_PORT
"""

from __future__ import annotations

import asyncio
import contextlib

from channel_sync.amqp.batching import BatchingConsumer
from channel_sync.amqp.settler import Settler
from channel_sync.amqp.topology import OUTBOUND
from channel_sync.beds24.accounts import Beds24Clients
from channel_sync.beds24.credit_budget import CreditBudget
from channel_sync.events import Direction
from channel_sync.lag import LagReport
from channel_sync.progress import WorkProgress
from channel_sync.worker import open_infra, run_until_stopped

from outbound_worker.availability import AvailabilitySync
from outbound_worker.bookings import BookingSync
from outbound_worker.handler import OutboundHandler
from outbound_worker.hold_reaper import HoldReaper
from outbound_worker.lanes import AccountLanes
from outbound_worker.metrics import CREDIT_WAITS
from outbound_worker.ports import AdvisoryLocks, PostgresBatches
from outbound_worker.settings import OutboundSettings


async def run(
    settings: OutboundSettings, stop: asyncio.Event, *, serve_health: bool = True
) -> None:
    """Run until `stop` is set, then drain: batches in flight finish, the rest is redelivered."""
    async with open_infra(settings, client_name="outbound-worker") as infra:
        pool = infra.pool
        progress = WorkProgress(OUTBOUND.name, stall_after_s=settings.stall_after_s)

        def credit_wait(seconds: float) -> None:
            CREDIT_WAITS.inc()
            progress.excuse_for(seconds)

        budget = CreditBudget(
            pool,
            reserve=settings.credit_reserve,
            max_wait_s=settings.max_credit_wait_s,
            on_wait=credit_wait,
            on_spend=progress.beat,
        )
        clients = Beds24Clients(
            settings.beds24_api_url, budget, timeout_s=settings.beds24_timeout_s
        )
        async with contextlib.aclosing(clients):
            max_items = settings.max_items_per_call
            # Two connections per account in flight; two left for the relay and settling.
            parallel_accounts = max(1, (settings.db_pool_max_size - 2) // 2)
            handler = OutboundHandler(
                PostgresBatches(pool),
                AdvisoryLocks(pool),
                clients,
                BookingSync(pool, budget, max_items=max_items),
                AvailabilitySync(
                    pool, budget, max_items=max_items, interval_s=settings.calendar_interval_s
                ),
                horizon_days=settings.availability_horizon_days,
                busy_retry_s=settings.busy_retry_s,
                parallel_accounts=parallel_accounts,
                budget=budget,
                batch_credits=settings.batch_credits,
                pace_below_credits=settings.pace_below_credits,
                take_in_max=settings.batch_max_events,
            )
            consumer = BatchingConsumer(
                batch_handler=handler,
                window_s=settings.batch_window_ms / 1000,
                max_batch=settings.batch_max_events,
                pause=handler.pause_s,
                paced=handler.paced_s,
                lane_of=AccountLanes(pool),
                max_running=parallel_accounts,
                batch_timeout_s=settings.batch_timeout_s,
                progress=progress,
                channel=None,  # opened once the broker link is up
                work_queue=OUTBOUND,
                settler=Settler(
                    work_queue=OUTBOUND,
                    pool=pool,
                    publisher=infra.link,
                    retry_delays_ms=settings.retry_delays_ms,
                ),
            )
            relay = infra.relay(Direction.OUTBOUND, poll_interval_s=settings.relay_poll_interval_s)
            lag = LagReport(pool, Direction.OUTBOUND)
            reaper = HoldReaper(pool, every_s=settings.hold_reaper_every_s)
            await run_until_stopped(
                stop,
                infra,
                consumer,
                {relay.name: relay.run, lag.name: lag.run, reaper.name: reaper.run},
                health_at=(settings.http_host, settings.http_port) if serve_health else None,
                # A batch waiting for credits goes back to the queue now.
                on_stopping=[budget.stop_waiting],
                ready_loops=[relay.name],
            )
