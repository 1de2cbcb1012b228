"""Entry point: `inbound-worker` runs the inbound consumer, relay and poller until SIGTERM."""

from __future__ import annotations

import asyncio
import sys

from channel_sync.logging import configure_logging
from channel_sync.runtime import stop_on_signals
from channel_sync.worker import LoopEnded

from inbound_worker.app import run
from inbound_worker.settings import InboundSettings


async def _main(settings: InboundSettings) -> None:
    await run(settings, stop_on_signals())


def main() -> None:
    settings = InboundSettings()
    configure_logging(settings.log_level, service="inbound-worker")
    try:
        asyncio.run(_main(settings))
    except LoopEnded:
        sys.exit(1)  # logged already; the orchestrator restarts the process


if __name__ == "__main__":
    main()
