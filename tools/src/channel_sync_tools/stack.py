"""The one launcher of the tools: the project's servers as child processes, or an app in
this process, and waiting on conditions while they work.

- `Stack` runs named processes (the Beds24 sandbox and the four services, or any command
  with a readiness URL), each of which can be SIGKILLed and started again as an
  orchestrator restarts a crashed pod. Output goes to `.run/<label>-<name>.log`, or to our
  stdout with the name in front (`make run`). `running_stack` starts the sandbox and the
  four services against a database and stops them on the way out.
- `serve_app` serves an ASGI app in this process on a free loopback port.
- `wait_until` waits on a condition with a deadline, printing progress (it polls through
  channel_sync_testing's `wait_for`).
- `fresh_database` makes a named database from scratch with channel_sync_testing's infra.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
import uvicorn
from channel_sync.health import EmbeddedServer
from channel_sync_testing import infra
from channel_sync_testing.waiting import wait_for
from starlette.types import ASGIApp

from channel_sync_tools.output import say
from channel_sync_tools.paths import LOGS

T = TypeVar("T")

# The machine's servers, as the Makefile exports them.
BASE_DSN = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/channel_sync")
BASE_AMQP = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
# Where scratch databases and vhosts are made, as for the tests (see conftest.py).
SCRATCH_ADMIN_DSN = os.environ.get(
    "TEST_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SCRATCH_AMQP = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")

SANDBOX = "beds24-sandbox"
SERVICES = ("webhook-gateway", "inbound-worker", "outbound-worker", "admin-api")
STOP_TIMEOUT_S = 30.0


class StackFailed(Exception):
    pass


async def wait_until(
    what: str,
    probe: Callable[[], Awaitable[T | None]],
    timeout: float = 60,
    quiet: bool = False,
    interval: float = 0.1,
) -> T:
    """Poll `probe` every `interval` seconds until it returns something truthy, showing
    progress every 2 s unless `quiet`; StackFailed after `timeout` seconds."""
    started = time.monotonic()
    shown = 0.0

    async def watched() -> T | None:
        nonlocal shown
        value = await probe()
        elapsed = time.monotonic() - started
        if not value and not quiet and elapsed - shown >= 2:
            shown = elapsed
            say(f"    … waiting for {what} ({elapsed:.0f}s)")
        return value

    try:
        value = await wait_for(watched, timeout=timeout, interval=interval, what=what)
    except AssertionError as exc:
        raise StackFailed(str(exc)) from None
    assert value is not None  # wait_for returns only a truthy value
    if not quiet:
        say(f"    ✓ {what} ({time.monotonic() - started:.1f}s)")
    return value


async def fresh_database(base_dsn: str, name: str) -> str:
    """Database `name` on `base_dsn`'s server, made anew and migrated to head; its DSN."""
    await infra.drop_database(base_dsn, name)
    _, dsn = await infra.create_database(base_dsn, name=name)
    await asyncio.to_thread(infra.migrate, dsn)
    return dsn


@dataclass(frozen=True)
class Process:
    """A server a Stack runs: ready once `ready_url` answers 200 (at once without one)."""

    name: str
    command: tuple[str, ...]
    ready_url: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Ports:
    """Where the sandbox and the four services listen (the defaults of their settings)."""

    gateway: int = 8080
    admin: int = 8081
    inbound: int = 8082
    outbound: int = 8083
    sandbox: int = 8090

    @classmethod
    def from_base(cls, base: int) -> Ports:
        """The services on `base` and the three ports after it, the sandbox on `base + 10`."""
        return cls(base, base + 1, base + 2, base + 3, base + 10)

    @staticmethod
    def url(port: int) -> str:
        return f"http://127.0.0.1:{port}"

    @property
    def gateway_url(self) -> str:
        return self.url(self.gateway)

    @property
    def admin_url(self) -> str:
        return self.url(self.admin)

    @property
    def sandbox_url(self) -> str:
        return self.url(self.sandbox)

    def of(self, service: str) -> int:
        return {
            SANDBOX: self.sandbox,
            "webhook-gateway": self.gateway,
            "admin-api": self.admin,
            "inbound-worker": self.inbound,
            "outbound-worker": self.outbound,
        }[service]

    def processes(self, *, sandbox: bool = True) -> list[Process]:
        """The sandbox (unless not wanted) and the four services, on these ports."""
        found = []
        if sandbox:
            command = (sys.executable, "-m", "beds24_sandbox", "--port", str(self.sandbox))
            found.append(
                Process(
                    SANDBOX,
                    (*command, "--log-level", "warning"),
                    f"{self.sandbox_url}/_sandbox/health",
                )
            )
        for name in SERVICES:
            port = self.of(name)
            found.append(
                Process(name, (name,), f"{self.url(port)}/readyz", {"HTTP_PORT": str(port)})
            )
        return found


DEFAULT_PORTS = Ports()


class Stack:
    """Named processes started, killed and stopped as one, with `env` (default: ours)."""

    def __init__(
        self,
        label: str,
        processes: Sequence[Process],
        env: Mapping[str, str] | None = None,
        *,
        prefixed: bool = False,
    ) -> None:
        self.label = label
        self.processes = {p.name: p for p in processes}
        self.env = dict(os.environ if env is None else env)
        self.prefixed = prefixed
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self._pipes: list[asyncio.Task[None]] = []

    @classmethod
    def with_sandbox(
        cls, label: str, dsn: str, ports: Ports = DEFAULT_PORTS, **extra_env: str
    ) -> Stack:
        """The sandbox and the four services against `dsn`, Beds24 being the sandbox."""
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "BEDS24_API_URL": f"{ports.sandbox_url}/api/v2",
            "PUBLIC_WEBHOOK_BASE_URL": ports.gateway_url,
            "LOG_LEVEL": "WARNING",
            **extra_env,
        }
        return cls(label, ports.processes(), env)

    @property
    def logs(self) -> str:
        return "our stdout" if self.prefixed else f".run/{self.label}-*.log"

    async def start(self, name: str) -> None:
        process = self.processes[name]
        env = {**self.env, **process.env}
        if self.prefixed:
            proc = await asyncio.create_subprocess_exec(
                *process.command,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            assert proc.stdout is not None
            self._pipes.append(asyncio.create_task(self._prefix(name, proc.stdout)))
        else:
            LOGS.mkdir(exist_ok=True)
            with (LOGS / f"{self.label}-{name}.log").open("ab") as log:
                proc = await asyncio.create_subprocess_exec(
                    *process.command, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
                )
        self.procs[name] = proc

    async def _prefix(self, name: str, stream: asyncio.StreamReader) -> None:
        width = max(len(n) for n in self.processes)
        while line := await stream.readline():
            sys.stdout.write(f"{name:<{width}} | {line.decode(errors='replace')}")
            sys.stdout.flush()

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    async def wait_ready(self, name: str, timeout: float = 60, quiet: bool = False) -> None:
        url = self.processes[name].ready_url
        if url is None:
            return
        proc = self.procs[name]
        async with httpx.AsyncClient(timeout=2) as http:

            async def ready() -> bool:
                if proc.returncode is not None:
                    raise StackFailed(f"{name} exited with {proc.returncode}; see {self.logs}")
                try:
                    return (await http.get(url)).status_code == 200
                except httpx.HTTPError:
                    return False

            await wait_until(f"{name} ready", ready, timeout=timeout, quiet=quiet)

    async def kill(self, name: str) -> None:
        """SIGKILL: no drain, no goodbye, as a crash or an OOM kill."""
        proc = self.procs[name]
        proc.kill()
        await proc.wait()

    async def start_all(self, *, ready: bool = True) -> None:
        for name in self.processes:
            await self.start(name)
        if ready:
            for name in self.processes:
                await self.wait_ready(name)

    async def first_exit(self) -> None:
        """Returns once any process has exited."""
        waits = [asyncio.create_task(p.wait()) for p in self.procs.values()]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    def failed(self) -> list[str]:
        """The processes that exited with an error."""
        return [n for n, p in self.procs.items() if p.returncode not in (None, 0)]

    async def stop_all(self) -> None:
        """SIGTERM to each (they drain), SIGKILL to any still running after 30 s."""
        for proc in self.procs.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                say(f"    {name} did not stop within {STOP_TIMEOUT_S:.0f} s: killed")
        await asyncio.gather(*self._pipes, return_exceptions=True)
        if not self.prefixed:
            say(f"  stopped everything (logs in {self.logs})")


@contextlib.asynccontextmanager
async def running_stack(
    label: str, dsn: str, ports: Ports = DEFAULT_PORTS, **extra_env: str
) -> AsyncIterator[Stack]:
    """The sandbox and the four services, each ready, against `dsn`; stopped on the way out."""
    stack = Stack.with_sandbox(label, dsn, ports, **extra_env)
    try:
        await stack.start_all()
        yield stack
    finally:
        await stack.stop_all()


@contextlib.asynccontextmanager
async def serve_app(app: ASGIApp, what: str = "app") -> AsyncIterator[str]:
    """`app` served in this process on a free loopback port (no access log); its URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False)
    server = EmbeddedServer(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()  # its start-up error, rather than waiting for the deadline
            raise StackFailed(f"{what} stopped during start")
        return server.started

    try:
        await wait_until(f"{what} started", started, timeout=30, quiet=True)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
