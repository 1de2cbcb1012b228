"""Runs the Beds24 sandbox and the four services as real processes, for the demo and benchmarks.

`running_stack(dsn, **env)` starts everything against the given database, waits until each
answers its readiness check, and stops everything (SIGTERM, then kill) on the way out.
Logs go to `.run/<label>-<service>.log`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_PORT = 8090
GATEWAY = "http://127.0.0.1:8080"
ADMIN = "http://127.0.0.1:8081"
SANDBOX = f"http://127.0.0.1:{SANDBOX_PORT}"
READINESS = {
    "beds24-sandbox": f"{SANDBOX}/_sandbox/health",
    "webhook-gateway": f"{GATEWAY}/readyz",
    "admin-api": f"{ADMIN}/readyz",
    "inbound-worker": "http://127.0.0.1:8082/readyz",
    "outbound-worker": "http://127.0.0.1:8083/readyz",
}
COMMANDS = {
    "beds24-sandbox": [
        sys.executable,
        "-m",
        "beds24_sandbox",
        "--port",
        str(SANDBOX_PORT),
        "--log-level",
        "warning",
    ],
    "webhook-gateway": ["webhook-gateway"],
    "inbound-worker": ["inbound-worker"],
    "outbound-worker": ["outbound-worker"],
    "admin-api": ["admin-api"],
}
T = TypeVar("T")


class StackFailed(Exception):
    pass


def say(text: str = "") -> None:
    print(text, flush=True)


async def wait_until(
    what: str, probe: Callable[[], Awaitable[T | None]], timeout: float = 60, quiet: bool = False
) -> T:
    """Poll `probe` until it returns a value, showing progress; fail after `timeout`."""
    started = time.monotonic()
    shown = 0
    while True:
        value = await probe()
        if value:
            if not quiet:
                say(f"    ✓ {what} ({time.monotonic() - started:.1f}s)")
            return value
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            raise StackFailed(f"timed out after {timeout:.0f}s waiting for {what}")
        if elapsed - shown >= 2:
            shown = int(elapsed)
            say(f"    … waiting for {what} ({elapsed:.0f}s)")
        await asyncio.sleep(0.1)  # polling interval under the deadline above


async def fresh_database(base_dsn: str, name: str) -> str:
    """Drop and create database `name` beside `base_dsn`'s, migrated to head; its DSN."""
    server = base_dsn.rsplit("/", 1)[0]
    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = f"{server}/{name}"
    proc = await asyncio.create_subprocess_exec(
        "channel-sync-migrate", "upgrade", "head", env={**os.environ, "DATABASE_URL": dsn}
    )
    if await proc.wait() != 0:
        raise StackFailed("migrations failed")
    return dsn


@contextlib.asynccontextmanager
async def running_stack(label: str, dsn: str, **extra_env: str) -> AsyncIterator[None]:
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "BEDS24_API_URL": f"{SANDBOX}/api/v2",
        "PUBLIC_WEBHOOK_BASE_URL": GATEWAY,
        "LOG_LEVEL": "WARNING",
        **extra_env,
    }
    logs = ROOT / ".run"
    logs.mkdir(exist_ok=True)
    procs: dict[str, asyncio.subprocess.Process] = {}
    try:
        for name, command in COMMANDS.items():
            with (logs / f"{label}-{name}.log").open("wb") as log:
                procs[name] = await asyncio.create_subprocess_exec(
                    *command, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
                )
        async with httpx.AsyncClient(timeout=2) as http:
            for name, url in READINESS.items():
                await wait_until(
                    f"{name} ready", lambda u=url, n=name: _ready(http, u, procs[n], label)
                )
        yield
    finally:
        for proc in procs.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in procs.items():
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                say(f"    {name} did not stop within 30 s: killed")
        say(f"  stopped everything (logs in .run/{label}-*.log)")


async def _ready(
    http: httpx.AsyncClient, url: str, proc: asyncio.subprocess.Process, label: str
) -> bool:
    if proc.returncode is not None:
        raise StackFailed(f"{url} exited with {proc.returncode}; see .run/{label}-*.log")
    try:
        return (await http.get(url)).status_code == 200
    except httpx.HTTPError:
        return False
