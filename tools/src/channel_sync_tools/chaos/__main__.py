"""`make chaos`: see the package's description (`channel_sync_tools.chaos`)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import asyncpg
import httpx
from channel_sync_testing.private_infra import PrivatePostgres, PrivateRabbitMQ

from channel_sync_tools.api import StackApi
from channel_sync_tools.chaos.faults import Faults
from channel_sync_tools.chaos.load import (
    BookingEngine,
    GuestSide,
    Load,
    Plan,
    PmsSide,
    connect_hotel,
    run_load,
)
from channel_sync_tools.chaos.verdict import report, settle
from channel_sync_tools.output import say
from channel_sync_tools.stack import SERVICES, Ports, Stack, fresh_database

ADMIN_TOKEN = "chaos-admin-token"  # noqa: S105 - a throwaway stack's token
FULL = Plan(3, 240, 8, 8, 2, 300)
SHORT = Plan(1, 30, 3, 3, 1, 180)


async def chaos(plan: Plan, json_path: Path | None) -> int:
    pg_port = int(os.environ.get("CHAOS_PG_PORT", "55433"))
    amqp_port = int(os.environ.get("CHAOS_AMQP_PORT", "35673"))
    ports = Ports.from_base(int(os.environ.get("CHAOS_HTTP_BASE_PORT", "18080")))
    say(
        f"chaos: {plan.properties} properties, load >= {plan.min_load_s:.0f} s; private "
        f"Postgres :{pg_port}, RabbitMQ :{amqp_port}"
    )
    postgres = PrivatePostgres(pg_port)
    rabbitmq = PrivateRabbitMQ(amqp_port)
    stack: Stack | None = None
    try:
        await asyncio.gather(asyncio.to_thread(postgres.start), asyncio.to_thread(rabbitmq.start))
        dsn = await fresh_database(postgres.dsn(), "chaos")
        stack = Stack.with_sandbox(
            "chaos",
            dsn,
            ports,
            RABBITMQ_URL=rabbitmq.url,
            ADMIN_API_TOKEN=ADMIN_TOKEN,
            RETRY_DELAYS_MS="1000,2000,4000,8000",
            RELAY_POLL_INTERVAL_S="1",
            POLL_INTERVAL_S="10",
            POLL_MARGIN_S="120",
            LOG_LEVEL=os.environ.get("CHAOS_LOG_LEVEL", "INFO"),
        )
        await stack.start_all()
        async with httpx.AsyncClient(timeout=30) as http:
            api = StackApi(http, ports, ADMIN_TOKEN)
            db = await asyncpg.connect(dsn)
            try:
                hotels = [await connect_hotel(api, db, n) for n in range(plan.properties)]
            finally:
                await db.close()
            load = Load()
            guests = GuestSide(http, ports.sandbox_url, load)
            pms = PmsSide(dsn, load)
            faults = Faults(stack, postgres, rabbitmq, hotels, guests, pms, dsn)
            stop_load = asyncio.Event()
            started = time.monotonic()
            engine = BookingEngine(dsn, load)
            loader = asyncio.create_task(run_load(hotels, guests, pms, engine, plan, stop_load))
            say("  faults (each after the previous one's recovery):")
            for round_ in range(plan.kills_per_service):
                for name in SERVICES:
                    await faults.kill(name)
                if round_ == 0:
                    await faults.restart_rabbitmq()
                    await faults.restart_postgres()
            # The load runs at least its planned time, faults or not.
            await asyncio.wait(
                {loader}, timeout=max(0, plan.min_load_s - (time.monotonic() - started))
            )
            stop_load.set()
            await loader
            loaded = time.monotonic() - started
            say(
                f"  load: {load.inbound_changes} Beds24-side changes ({load.groups} multi-room "
                f"OTA reservations), {load.outbound_changes} PMS changes ({load.stays} two-room "
                f"stays) in {loaded:.0f} s ({load.pms_writes_refused} PMS writes refused "
                f"while Postgres was down); holds: {load.holds_placed} placed, "
                f"{load.holds_confirmed} confirmed, {load.holds_released} released, "
                f"{load.holds_refused} refused, the rest left to expire"
            )
            verdict, settled_in = await settle(api, dsn, hotels, plan)
        verdict.deadlocks = postgres.log_count("deadlock detected")
        return report(verdict, faults.recovery, load, settled_in, json_path)
    finally:
        if stack is not None:
            await stack.stop_all()
        await asyncio.to_thread(rabbitmq.remove)
        await asyncio.to_thread(postgres.remove)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m channel_sync_tools.chaos",
        description="faults under load on private servers; prints a verdict",
    )
    parser.add_argument("--short", action="store_true", help="one fault of each kind")
    parser.add_argument("--json", type=Path, help="write the summary here as JSON")
    args = parser.parse_args()
    # SIGTERM (a timeout, Ctrl-C from make) unwinds like Ctrl-C: the private servers and
    # the services are stopped on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(asyncio.run(chaos(SHORT if args.short else FULL, args.json)))


if __name__ == "__main__":
    main()
