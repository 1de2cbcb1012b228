"""`make run`: the four services in the foreground; Ctrl-C (or SIGTERM) stops them all.

Each service's output is prefixed with its name. If one exits, the others are stopped too,
so a broken service is never silently missing from a running stack.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from channel_sync_tools.stack import DEFAULT_PORTS, Stack

# Local development only; a deployment sets ADMIN_API_TOKEN from its secret store.
DEV_ADMIN_TOKEN = "dev-admin-token"  # noqa: S105


async def main() -> int:
    env = dict(os.environ)
    if "ADMIN_API_TOKEN" not in env:
        env["ADMIN_API_TOKEN"] = DEV_ADMIN_TOKEN
        print(f"admin-api token: {DEV_ADMIN_TOKEN} (set ADMIN_API_TOKEN to choose one)")
    stack = Stack("run", DEFAULT_PORTS.processes(sandbox=False), env, prefixed=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stack.start_all(ready=False)
    waits = [asyncio.create_task(stack.first_exit()), asyncio.create_task(stop.wait())]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for wait in waits:
        wait.cancel()
    failed = stack.failed()
    await stack.stop_all()
    if failed:
        print(f"stopped because {', '.join(failed)} exited with an error", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
