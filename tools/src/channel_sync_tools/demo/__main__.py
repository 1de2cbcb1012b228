"""`make demo`: the whole system end to end, with the evidence printed.

Starts the Beds24 sandbox and the four services against a fresh demo database, onboards a
demo property through the admin API, then runs the seven demo scenarios:

  1. inbound:  a guest books on an OTA → Beds24 webhook → event → reservation in the PMS
  2. outbound: a reservation is created in the PMS → event → booking in Beds24
  3. DLQ:      Beds24 fails → event `failed` after 3 attempts → admin retry → `done`
     (1-3 and the setup: `basics`)
  4. sync:     a hotel with bookings on both sides is connected (initial sync); drift made
               on each side is found and repaired by a reconciliation (`sync`)
  5. stays:    a three-room OTA reservation arrives as one stay; a three-room PMS stay
               leaves as one Beds24 group in one call (`stays`)
  6. rates:    a price and a minimum stay changed in the PMS are in Beds24's calendar
               seconds later; a price changed by hand in Beds24 is found and repaired by a
               reconciliation (`rates`)
  7. holds:    a hold on the last room takes it off Beds24 within seconds, a second hold is
               refused, and its expiry gives the room back (`holds`)

Exits non-zero if any scenario fails, and stops everything it started.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable

from channel_sync_tools.demo import basics
from channel_sync_tools.demo.base import Demo
from channel_sync_tools.demo.holds import inventory_hold
from channel_sync_tools.demo.rates import rates_and_restrictions
from channel_sync_tools.demo.stays import multi_room_stays
from channel_sync_tools.demo.sync import connect_busy_hotel
from channel_sync_tools.output import say
from channel_sync_tools.session import stack_session
from channel_sync_tools.stack import StackFailed

ADMIN_TOKEN = os.environ.get("ADMIN_API_TOKEN", "demo-admin-token")
SCENARIOS: list[tuple[str, Callable[[Demo], Awaitable[None]]]] = [
    ("inbound", basics.inbound),
    ("outbound", basics.outbound),
    ("DLQ", basics.dlq),
    ("sync", connect_busy_hotel),
    ("stays", multi_room_stays),
    ("rates", rates_and_restrictions),
    ("holds", inventory_hold),
]


async def main() -> int:
    say(
        "Channel sync demo: Beds24 sandbox + webhook-gateway + inbound-worker + "
        "outbound-worker + admin-api"
    )
    failures: list[str] = []
    # Short retry delays so the DLQ scenario's three attempts take seconds, not minutes.
    async with stack_session(
        "demo",
        ADMIN_TOKEN,
        RETRY_DELAYS_MS="1000,2000,4000",
        SYNC_EVERY_S="1",
        SYNC_SETTLE_S="30",
    ) as session:
        demo = await basics.setup(session.api, session.db)
        for name, scenario in SCENARIOS:
            try:
                await scenario(demo)
                say(f"  ✔ {name} scenario passed")
            except (StackFailed, AssertionError) as exc:  # the sandbox's handle asserts
                failures.append(name)
                say(f"  ✘ {name} scenario FAILED: {exc}")
    say("")
    if failures:
        say(f"demo: {len(failures)} scenario(s) failed: {', '.join(failures)}")
        return 1
    say(f"demo: all {len(SCENARIOS)} scenarios passed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except StackFailed as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        sys.exit(1)
