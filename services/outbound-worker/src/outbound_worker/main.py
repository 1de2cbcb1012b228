"""Entry point: `outbound-worker` runs the outbound relay and consumer until SIGTERM."""

from __future__ import annotations

import asyncio

from channel_sync.logging import configure_logging
from channel_sync.runtime import stop_on_signals

from outbound_worker.app import run
from outbound_worker.settings import OutboundSettings


async def _main(settings: OutboundSettings) -> None:
    await run(settings, stop_on_signals())


def main() -> None:
    settings = OutboundSettings()
    configure_logging(settings.log_level, service="outbound-worker")
    asyncio.run(_main(settings))


if __name__ == "__main__":
    main()
