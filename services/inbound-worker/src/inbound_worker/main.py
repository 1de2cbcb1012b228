"""Entry point: `inbound-worker` runs the inbound consumer, relay and poller until SIGTERM."""

from __future__ import annotations

from channel_sync.entry import run_worker

from inbound_worker.app import run
from inbound_worker.settings import InboundSettings


def main() -> None:
    run_worker("inbound-worker", InboundSettings, run)


if __name__ == "__main__":
    main()
