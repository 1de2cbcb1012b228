"""The `outbound-worker` process: health port, readiness, metrics, graceful SIGTERM."""

from __future__ import annotations

import asyncio
import signal

import httpx
from beds24_sandbox.handle import SandboxHandle
from channel_sync_testing.waiting import wait_for

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
            }
            assert (await http.get("/healthz")).status_code == 200
            metrics = await http.get("/metrics")
            assert "channel_sync_outbound_batch_events" in metrics.text
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
