"""Running the real `outbound-worker` process for tests (python -m outbound_worker.main)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys

from beds24_sandbox.handle import SandboxHandle


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_process(
    settings_env: dict[str, str], sandbox: SandboxHandle, **extra: str
) -> tuple[asyncio.subprocess.Process, int]:
    port = free_port()
    env = {
        **os.environ,
        **settings_env,
        "BEDS24_API_URL": sandbox.url,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        "BATCH_WINDOW_MS": "50",
        "RELAY_POLL_INTERVAL_S": "0.5",
        **extra,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "outbound_worker.main",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    return process, port
