"""Runs the Beds24 sandbox and the four services as real processes, for the demo and benchmarks.

`running_stack(dsn, **env)` starts everything against the given database, waits until each
answers its readiness check, and stops everything (SIGTERM, then kill) on the way out.
`Stack` does the same piece by piece, on any ports, and can SIGKILL and restart a service.
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
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


@dataclass(frozen=True)
class Ports:
    """Where the sandbox and the four services listen (the defaults of their settings)."""

    gateway: int = 8080
    admin: int = 8081
    inbound: int = 8082
    outbound: int = 8083
    sandbox: int = 8090

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}"

    @property
    def readiness(self) -> dict[str, str]:
        return {
            "beds24-sandbox": f"{self.url(self.sandbox)}/_sandbox/health",
            "webhook-gateway": f"{self.url(self.gateway)}/readyz",
            "admin-api": f"{self.url(self.admin)}/readyz",
            "inbound-worker": f"{self.url(self.inbound)}/readyz",
            "outbound-worker": f"{self.url(self.outbound)}/readyz",
        }

    @property
    def commands(self) -> dict[str, list[str]]:
        sandbox = [sys.executable, "-m", "beds24_sandbox", "--port", str(self.sandbox)]
        return {
            "beds24-sandbox": [*sandbox, "--log-level", "warning"],
            "webhook-gateway": ["webhook-gateway"],
            "inbound-worker": ["inbound-worker"],
            "outbound-worker": ["outbound-worker"],
            "admin-api": ["admin-api"],
        }

    def env(self, name: str) -> dict[str, str]:
        port = {
            "webhook-gateway": self.gateway,
            "admin-api": self.admin,
            "inbound-worker": self.inbound,
            "outbound-worker": self.outbound,
        }.get(name)
        return {} if port is None else {"HTTP_PORT": str(port)}


DEFAULT_PORTS = Ports()
SANDBOX_PORT = DEFAULT_PORTS.sandbox
GATEWAY = DEFAULT_PORTS.url(DEFAULT_PORTS.gateway)
ADMIN = DEFAULT_PORTS.url(DEFAULT_PORTS.admin)
SANDBOX = DEFAULT_PORTS.url(DEFAULT_PORTS.sandbox)


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


class Stack:
    """The sandbox and the four services as child processes, each of which can be killed and
    started again (as an orchestrator restarts a crashed pod)."""

    def __init__(self, label: str, dsn: str, ports: Ports = DEFAULT_PORTS, **extra_env: str):
        self.label = label
        self.ports = ports
        self.env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "BEDS24_API_URL": f"{ports.url(ports.sandbox)}/api/v2",
            "PUBLIC_WEBHOOK_BASE_URL": ports.url(ports.gateway),
            "LOG_LEVEL": "WARNING",
            **extra_env,
        }
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.logs = ROOT / ".run"

    async def start(self, name: str) -> None:
        self.logs.mkdir(exist_ok=True)
        with (self.logs / f"{self.label}-{name}.log").open("ab") as log:
            self.procs[name] = await asyncio.create_subprocess_exec(
                *self.ports.commands[name],
                env={**self.env, **self.ports.env(name)},
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )

    async def wait_ready(self, name: str, timeout: float = 60, quiet: bool = False) -> None:
        url = self.ports.readiness[name]
        async with httpx.AsyncClient(timeout=2) as http:
            await wait_until(
                f"{name} ready",
                lambda: _ready(http, url, self.procs[name], self.label),
                timeout=timeout,
                quiet=quiet,
            )

    async def kill(self, name: str) -> None:
        """SIGKILL: no drain, no goodbye, as a crash or an OOM kill."""
        proc = self.procs[name]
        proc.kill()
        await proc.wait()

    async def start_all(self) -> None:
        for name in self.ports.commands:
            await self.start(name)
        for name in self.ports.commands:
            await self.wait_ready(name)

    async def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                say(f"    {name} did not stop within 30 s: killed")
        say(f"  stopped everything (logs in .run/{self.label}-*.log)")


@contextlib.asynccontextmanager
async def running_stack(label: str, dsn: str, **extra_env: str) -> AsyncIterator[Stack]:
    stack = Stack(label, dsn, **extra_env)
    try:
        await stack.start_all()
        yield stack
    finally:
        await stack.stop_all()


async def _ready(
    http: httpx.AsyncClient, url: str, proc: asyncio.subprocess.Process, label: str
) -> bool:
    if proc.returncode is not None:
        raise StackFailed(f"{url} exited with {proc.returncode}; see .run/{label}-*.log")
    try:
        return (await http.get(url)).status_code == 200
    except httpx.HTTPError:
        return False
