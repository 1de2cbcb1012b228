"""`make run`: the four services in the foreground; Ctrl-C (or SIGTERM) stops them all.

Each service's output is prefixed with its name. If one exits, the others are stopped too,
so a broken service is never silently missing from a running stack.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

SERVICES = ("webhook-gateway", "inbound-worker", "outbound-worker", "admin-api")
STOP_TIMEOUT_S = 30
# Local development only; a deployment sets ADMIN_API_TOKEN from its secret store.
DEV_ADMIN_TOKEN = "dev-admin-token"  # noqa: S105


async def _pipe(name: str, stream: asyncio.StreamReader) -> None:
    width = max(len(s) for s in SERVICES)
    while line := await stream.readline():
        sys.stdout.write(f"{name:<{width}} | {line.decode(errors='replace')}")
        sys.stdout.flush()


async def main() -> int:
    env = dict(os.environ)
    if "ADMIN_API_TOKEN" not in env:
        env["ADMIN_API_TOKEN"] = DEV_ADMIN_TOKEN
        print(f"admin-api token: {DEV_ADMIN_TOKEN} (set ADMIN_API_TOKEN to choose one)")
    procs = {
        name: await asyncio.create_subprocess_exec(
            name, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        for name in SERVICES
    }
    pipes = [asyncio.create_task(_pipe(n, p.stdout)) for n, p in procs.items() if p.stdout]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    exits = [asyncio.create_task(p.wait()) for p in procs.values()]
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait([*exits, stopper], return_when=asyncio.FIRST_COMPLETED)
    crashed = [n for n, p in procs.items() if p.returncode not in (None, 0)]
    for proc in procs.values():
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    try:
        async with asyncio.timeout(STOP_TIMEOUT_S):
            await asyncio.gather(*exits)
    except TimeoutError:
        for proc in procs.values():
            if proc.returncode is None:
                proc.kill()
    await asyncio.gather(*pipes, return_exceptions=True)
    stopper.cancel()
    if crashed:
        print(f"stopped because {', '.join(crashed)} exited with an error", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
