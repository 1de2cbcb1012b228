"""Entry point: `outbound-worker` runs the outbound relay and consumer until SIGTERM."""

from __future__ import annotations

import asyncio
import sys

from channel_sync.logging import configure_logging
from channel_sync.runtime import stop_on_signals
from channel_sync.worker import LoopEnded

from outbound_worker.app import run
from outbound_worker.settings import OutboundSettings


async def _main(settings: OutboundSettings) -> None:
    await run(settings, stop_on_signals())


def main() -> None:
    settings = OutboundSettings()
    configure_logging(settings.log_level, service="outbound-worker")
    try:
        asyncio.run(_main(settings))
    except LoopEnded:
        sys.exit(1)  # logged already; the orchestrator restarts the process


if __name__ == "__main__":
    main()
