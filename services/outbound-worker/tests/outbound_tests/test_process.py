"""The `outbound-worker` process: health port, readiness, metrics, graceful SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from datetime import date, timedelta

import asyncpg
import httpx
from beds24_sandbox.handle import SandboxHandle
from channel_sync_testing.waiting import wait_for

from .conftest import Connected
from .factories import insert_reservation
from .processes import start_process


async def test_process_reports_ready_and_stops_cleanly_on_sigterm(
    settings_env: dict[str, str], beds24_sandbox: SandboxHandle
) -> None:
    process, port = await start_process(settings_env, beds24_sandbox)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def ready() -> httpx.Response | None:
                try:
                    response = await http.get("/readyz")
                except httpx.TransportError:
                    return None
                return response if response.status_code == 200 else None

            answer = await wait_for(ready, timeout=20, what="readyz 200")
            assert answer.json()["checks"] == {
                "postgres": True,
                "rabbitmq": True,
                "consumer": True,
                "outbound-relay": True,
                "progress": True,
            }
            assert (await http.get("/healthz")).status_code == 200
            metrics = await http.get("/metrics")
            assert "# HELP channel_sync_batch_events " in metrics.text
            assert 'channel_sync_consumer_oldest_held_age_seconds{queue="pms.outbound"}' in (
                metrics.text
            )
            assert 'channel_sync_oldest_pending_event_age_seconds{direction="outbound"}' in (
                metrics.text
            )
            assert 'channel_sync_loop_last_success_timestamp_seconds{loop="outbound-relay"}' in (
                metrics.text
            )
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()[-2000:]
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_a_batch_stuck_at_beds24_turns_liveness_red_within_its_bound(
    db: asyncpg.Pool,
    settings_env: dict[str, str],
    beds24_sandbox: SandboxHandle,
    connected: Connected,
) -> None:
    """Beds24 holds a call far longer than the stall bound: held work stops moving, so
    /healthz and /readyz fail and name the queue (the orchestrator restarts the worker)."""
    hotel, _ = connected
    bound_s = 3.0
    await beds24_sandbox.inject_fault("timeout", method="POST", path="/bookings", delay_s=60)
    process, port = await start_process(
        settings_env, beds24_sandbox, STALL_AFTER_S=str(bound_s), BEDS24_TIMEOUT_S="60"
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def status(path: str) -> httpx.Response | None:
                try:
                    return await http.get(path)
                except httpx.TransportError:
                    return None

            async def healthy() -> bool:
                answer = await status("/healthz")
                return answer is not None and answer.status_code == 200

            await wait_for(healthy, timeout=20, what="healthz 200")
            async with db.acquire() as conn:
                arrival = date.today() + timedelta(days=30)
                await insert_reservation(
                    conn, hotel, arrival=arrival, departure=arrival + timedelta(days=2)
                )

            async def sent() -> bool:
                return bool(await beds24_sandbox.calls(method="POST", path="/bookings"))

            await wait_for(sent, timeout=20, what="the booking call held by Beds24")
            held_since = asyncio.get_running_loop().time()

            async def stuck() -> httpx.Response | None:
                answer = await status("/healthz")
                return answer if answer is not None and answer.status_code == 503 else None

            red = await wait_for(stuck, timeout=bound_s + 10, what="healthz 503")
            took = asyncio.get_running_loop().time() - held_since
            assert took >= bound_s - 1.0  # not before the bound...
            [reason] = red.json()["stuck"]
            assert reason.startswith("pms.outbound:") and "held" in reason
            ready = await http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["progress"] is False
            assert ready.json()["stuck"] == [reason]
    finally:
        process.kill()
        await process.wait()
        await beds24_sandbox.clear_faults()
