"""SIGKILL of the gateway under concurrent load: every webhook it answered 2xx has its row,
and the relay publishes every one of them (nothing answered is lost with the process)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import asyncpg
import httpx
from channel_sync.amqp.link import BrokerLink
from channel_sync.events import Direction
from channel_sync.relay import Relay
from channel_sync_testing.waiting import wait_for

from conftest import TEST_RETRY_DELAYS_MS

from .support import Hotel, closed_port, inbound_events, webhook


async def test_every_webhook_answered_before_a_sigkill_is_stored_and_relayed(
    database_url: str, amqp_url: str, hotel: Hotel, db: asyncpg.Pool
) -> None:
    port = closed_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RABBITMQ_URL": amqp_url,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        "PUBLISH_HOLD_S": "1",
        "LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "webhook_gateway.main", env=env, stderr=asyncio.subprocess.DEVNULL
    )
    answered: list[int] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            await wait_for(lambda: _ready(http), timeout=30, what="gateway ready")
            next_id = iter(range(74000, 80000))

            async def sender() -> None:
                while process.returncode is None:
                    booking_id = next(next_id)
                    try:
                        answer = await http.post(
                            f"/webhooks/beds24/{hotel.property_id}",
                            json=webhook(booking_id),
                            headers={"Authorization": f"Bearer {hotel.secret}"},
                        )
                    except httpx.HTTPError:
                        return  # the process is gone
                    if answer.is_success:
                        answered.append(booking_id)

            senders = [asyncio.create_task(sender()) for _ in range(16)]
            await wait_for(lambda: _at_least(answered, 150), timeout=60, what="load running")
            process.send_signal(signal.SIGKILL)
            await process.wait()
            await asyncio.gather(*senders)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    stored = {int(r["entity_external_id"]) for r in await inbound_events(db)}
    assert set(answered) <= stored, sorted(set(answered) - stored)[:10]
    # Whatever the killed process had not published, the relay publishes.
    link = BrokerLink(amqp_url, client_name="tests", retry_delays_ms=TEST_RETRY_DELAYS_MS)
    await link.start(wait_s=10)
    relay = Relay(pool=db, publisher=link, direction=Direction.INBOUND, poll_interval_s=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await wait_for(lambda: _all_published(db), timeout=30, what="every row published")
    finally:
        stop.set()
        await task
        await link.close()


async def _ready(http: httpx.AsyncClient) -> bool:
    try:
        return (await http.get("/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


async def _at_least(answered: list[int], count: int) -> bool:
    return len(answered) >= count


async def _all_published(db: asyncpg.Pool) -> bool:
    rows = await inbound_events(db)
    return bool(rows) and all(r["status"] == "processing" for r in rows)
