"""Composition root: builds the inbound worker's parts and runs them until told to stop.

relay:     inbound channel_events still `received` (gateway could not publish, or polled)
           → pms.events (beds24.#)
consumer:  beds24.inbound → batches → PMS reservations (one transaction per batch, a
           savepoint per booking: `batch`)
poller:    Beds24 GET /bookings?modifiedFrom= per property → inbound events (lost webhooks)
sync:      initial syncs and reconciliations (sync_runs) → inbound/outbound events, drift
health:    /healthz /readyz /metrics on HTTP_HOST:HTTP_PORT
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from channel_sync.amqp.batching import BatchingConsumer
from channel_sync.amqp.settler import Settler
from channel_sync.amqp.topology import INBOUND
from channel_sync.beds24.accounts import Beds24Clients
from channel_sync.beds24.credit_budget import CreditBudget
from channel_sync.events import Direction
from channel_sync.lag import LagReport
from channel_sync.worker import Loop, open_infra, run_until_stopped

from inbound_worker.batch import InboundBatch
from inbound_worker.beds24_bookings import Beds24Bookings
from inbound_worker.handler import InboundHandler
from inbound_worker.poller import Poller
from inbound_worker.settings import InboundSettings
from inbound_worker.sync.runner import SyncRunner


async def run(settings: InboundSettings, stop: asyncio.Event, *, serve_health: bool = True) -> None:
    """Run until `stop` is set, then drain: messages in flight finish, the rest is redelivered."""
    async with open_infra(settings, client_name="inbound-worker") as infra:
        pool = infra.pool
        # Never hold a message or a poll for credits: while low, RetryAfter at once.
        budget = CreditBudget(pool, reserve=settings.credit_reserve, max_wait_s=0)
        clients = Beds24Clients(
            settings.beds24_api_url, budget, timeout_s=settings.beds24_timeout_s
        )
        async with contextlib.aclosing(clients):
            beds24 = Beds24Bookings(pool, clients, budget)
            push_skew = timedelta(seconds=settings.push_skew_margin_s)
            consumer = BatchingConsumer(
                batch_handler=InboundBatch(
                    pool, InboundHandler(pool, beds24, push_skew=push_skew), push_skew=push_skew
                ),
                window_s=settings.batch_window_ms / 1000,
                max_batch=settings.batch_max_events,
                batch_timeout_s=settings.batch_timeout_s,
                prefetch=settings.prefetch,
                channel=None,  # opened once the broker link is up
                work_queue=INBOUND,
                settler=Settler(
                    work_queue=INBOUND,
                    pool=pool,
                    publisher=infra.link,
                    retry_delays_ms=settings.retry_delays_ms,
                ),
            )
            relay = infra.relay(Direction.INBOUND, poll_interval_s=settings.relay_poll_interval_s)
            lag = LagReport(pool, Direction.INBOUND)
            loops: dict[str, Loop] = {relay.name: relay.run, lag.name: lag.run}
            if settings.poll_enabled:
                poller = Poller(
                    pool,
                    beds24,
                    interval_s=settings.poll_interval_s,
                    margin_s=settings.poll_margin_s,
                    first_lookback_s=settings.poll_first_lookback_s,
                    max_attempts=settings.poll_max_attempts,
                )
                loops[Poller.NAME] = poller.run
            if settings.sync_enabled:
                sync = SyncRunner(
                    pool,
                    beds24,
                    every_s=settings.sync_every_s,
                    reconcile_interval_s=settings.reconcile_interval_s,
                    horizon_days=settings.sync_horizon_days,
                    settle_s=settings.sync_settle_s,
                    max_attempts=settings.poll_max_attempts,
                )
                loops[SyncRunner.NAME] = sync.run
            await run_until_stopped(
                stop,
                infra,
                consumer,
                loops,
                health_at=(settings.http_host, settings.http_port) if serve_health else None,
                ready_loops=[relay.name],
            )
