"""Entry point: `outbound-worker` runs the outbound relay and consumer until SIGTERM."""

from __future__ import annotations

from channel_sync.entry import run_worker

from outbound_worker.app import run
from outbound_worker.settings import OutboundSettings


def main() -> None:
    run_worker("outbound-worker", OutboundSettings, run)


if __name__ == "__main__":
    main()
