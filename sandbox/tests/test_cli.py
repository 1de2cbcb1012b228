"""`python -m beds24_sandbox --port N` serves the sandbox."""

from __future__ import annotations

import socket
import subprocess
import sys

import httpx
from channel_sync_testing.waiting import wait_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_module_runs_as_a_program() -> None:
    port = _free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, stopped below
        [sys.executable, "-m", "beds24_sandbox", "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient() as http:

            async def healthy() -> bool:
                try:
                    answer = await http.get(f"http://127.0.0.1:{port}/_sandbox/health")
                except httpx.TransportError:
                    return False
                return answer.status_code == 200

            await wait_for(healthy, timeout=15, what="the sandbox program to listen")
            account = await http.post(f"http://127.0.0.1:{port}/_sandbox/accounts", json={})
            assert account.status_code == 201 and account.json()["account_id"] == 1
    finally:
        process.terminate()
        process.wait(timeout=10)
