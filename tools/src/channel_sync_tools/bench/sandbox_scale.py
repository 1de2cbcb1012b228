"""The Beds24 sandbox at a hotel group's size (prints, never asserts): is the fake Beds24 the
bottleneck of a many-hotels run? In its own process, as the stack runs it:

  1. BENCH_SB_ACCOUNTS (50) accounts of BENCH_SB_PROPERTIES (20) properties each, one room
     of 10 units a property (1,000 properties): how long the set-up takes;
  2. one client per account, all at once, for BENCH_SB_SECONDS (20): the calls a sync makes,
     in turn: a month of one property's calendar written, 10 bookings created in one call,
     a booking search over the account's properties modified in the last hour;
     answered calls per second by kind, p50/p99 latency, and non-2xx answers.

What it is held against: 50 accounts at Beds24's default limit (100 credits per 5 minutes,
about 1 credit a call) spend about 17 calls/s between them; the sandbox must answer many
times that. The accounts here have credits to spare, so nothing is refused.

Alone: `uv run --frozen python -m channel_sync_tools.bench.sandbox_scale`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from beds24_sandbox.handle import SandboxHandle

from channel_sync_tools.bench.common import percentile
from channel_sync_tools.output import say
from channel_sync_tools.stack import Ports, Stack

ACCOUNTS = int(os.environ.get("BENCH_SB_ACCOUNTS", "50"))
PROPERTIES = int(os.environ.get("BENCH_SB_PROPERTIES", "20"))
SECONDS = float(os.environ.get("BENCH_SB_SECONDS", "20"))
PORTS = Ports.from_base(int(os.environ.get("BENCH_SB_BASE_PORT", "18580")))
KINDS = ("calendar write", "bookings create", "bookings search")


async def _set_up(sandbox: SandboxHandle) -> list[tuple[str, list[tuple[int, int]]]]:
    """Per account: its refresh token and its (property, room) pairs."""
    accounts = []
    for _ in range(ACCOUNTS):
        account = await sandbox.create_account(credit_limit=1_000_000, window_s=300)
        props = []
        for n in range(PROPERTIES):
            prop = await sandbox.create_property(
                account.account_id, name=f"Hotel {n}", rooms=[{"name": "Double", "qty": 10}]
            )
            props.append((int(prop["id"]), int(prop["rooms"][0]["id"])))
        accounts.append((account.refresh_token, props))
    return accounts


async def _client(
    http: httpx.AsyncClient,
    sandbox: SandboxHandle,
    refresh_token: str,
    props: list[tuple[int, int]],
    until: float,
    seen: dict[str, list[float]],
    refused: dict[str, int],
) -> None:
    headers = {"token": await sandbox.token(refresh_token)}
    start = date.today() + timedelta(days=30)
    turn = 0
    while time.monotonic() < until:
        _, room_id = props[turn % len(props)]
        arrival = start + timedelta(days=turn % 300)
        calls: dict[str, tuple[str, str, Any]] = {
            "calendar write": (
                "POST",
                "/inventory/rooms/calendar",
                [
                    {
                        "roomId": room_id,
                        "calendar": [
                            {
                                "from": arrival.isoformat(),
                                "to": (arrival + timedelta(days=30)).isoformat(),
                                "numAvail": 10 - turn % 3,
                            }
                        ],
                    }
                ],
            ),
            "bookings create": (
                "POST",
                "/bookings",
                [
                    {
                        "roomId": room_id,
                        "arrival": (arrival + timedelta(days=i)).isoformat(),
                        "departure": (arrival + timedelta(days=i + 1)).isoformat(),
                        "status": "confirmed",
                        "lastName": "Bench",
                    }
                    for i in range(10)
                ],
            ),
            "bookings search": (
                "GET",
                "/bookings",
                {
                    "propertyId": [p for p, _ in props],
                    "modifiedFrom": (datetime.now(UTC) - timedelta(hours=1)).strftime(
                        "%Y-%m-%dT%H:%M:%SZ"
                    ),
                },
            ),
        }
        for kind, (method, path, body) in calls.items():
            sent = time.monotonic()
            if method == "GET":
                answer = await http.get(path, params=body, headers=headers)
            else:
                answer = await http.post(path, json=body, headers=headers)
            seen[kind].append(time.monotonic() - sent)
            if answer.status_code >= 300:
                refused[kind] += 1
        turn += 1


async def main() -> None:
    stack = Stack("bench-sandbox", PORTS.processes(sandbox=True)[:1])
    try:
        await stack.start_all()
        async with httpx.AsyncClient(timeout=30) as control:
            sandbox = SandboxHandle(PORTS.sandbox_url, control)
            say(
                f"sandbox at scale: {ACCOUNTS} accounts x {PROPERTIES} properties, "
                f"one client per account for {SECONDS:.0f} s"
            )
            began = time.monotonic()
            accounts = await _set_up(sandbox)
            say(
                f"    set-up: {ACCOUNTS * PROPERTIES} properties in "
                f"{time.monotonic() - began:.1f} s"
            )
            seen: dict[str, list[float]] = defaultdict(list)
            refused: dict[str, int] = defaultdict(int)
            limits = httpx.Limits(max_connections=ACCOUNTS)
            async with httpx.AsyncClient(
                base_url=f"{PORTS.sandbox_url}/api/v2", timeout=30, limits=limits
            ) as http:
                began = time.monotonic()
                until = began + SECONDS
                await asyncio.gather(
                    *(
                        _client(http, sandbox, token, props, until, seen, refused)
                        for token, props in accounts
                    )
                )
                took = time.monotonic() - began
        total = sum(len(v) for v in seen.values())
        say(f"    {total / took:.0f} calls/s answered in all ({total} in {took:.1f} s)")
        for kind in KINDS:
            found = seen[kind]
            if found:
                say(
                    f"    {kind:<16} {len(found) / took:6.0f}/s  p50 "
                    f"{percentile(found, 50) * 1000:6.1f} ms  p99 "
                    f"{percentile(found, 99) * 1000:6.1f} ms  non-2xx {refused[kind]}"
                )
        say(
            f"    against: {ACCOUNTS} accounts at the default credit limit spend about "
            f"{ACCOUNTS * 100 / 300:.0f} calls/s between them"
        )
    finally:
        await stack.stop_all()


if __name__ == "__main__":
    asyncio.run(main())
