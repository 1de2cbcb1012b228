"""Open-loop load for `make bench` (run as its own process, so its work never slows the
bench's bookkeeping): `rate` webhooks a second for `seconds`, each sent at its scheduled
time whether or not earlier ones were answered, over keep-alive connections (a new one is
opened whenever all are busy). Latency counts from the scheduled time to the whole answer,
so a server that falls behind shows it instead of slowing the load down.

    python -m channel_sync_tools.bench.open_loop PORT PATH RATE SECONDS   (BENCH_SECRET set)

`offer` runs it so from a bench and reads its figures.

Optional environment: BENCH_PROPERTY and BENCH_ROOM (the Beds24 ids the bookings carry),
BENCH_FIRST_ID (the first booking id; then one more per request), BENCH_SLOT_ROOMS (when
set, every that many bookings move to the next three nights, so a hotel with that many
rooms is never overbooked), BENCH_SLOT_OFFSET (bookings sent before, by earlier runs).

Prints one JSON object: offered rate, p50/p99/max/mean in ms, answers other than 2xx,
requests that got no answer (a connection refused or dropped), connections opened, and the
wall-clock time the first request was due (`start_epoch`: request n was due n/rate later).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from datetime import date, timedelta
from typing import Any

import uvloop

MAX_CONNECTIONS = 512
# The same booking webhook as webhook.lua sends (about 1.6 KB); {id} differs each time.
BODY = (
    '{"timeStamp":"2026-11-25T10:00:00Z","retries":0,"booking":{"id":{id},'
    '"propertyId":{property},"roomId":{room},"status":"confirmed","arrival":"{arrival}",'
    '"departure":"{departure}","numAdult":2,"firstName":"Bench","lastName":"Guest",'
    '"modifiedTime":"2026-11-25T10:00:00Z","comments":"' + "x" * 1150 + '"}}'
)
FIRST_NIGHT = date(2031, 6, 1)


def requests(path: str, secret: str, count: int) -> list[bytes]:
    """Every request rendered before the clock starts (a new booking id each)."""
    base = int(
        os.environ.get("BENCH_FIRST_ID") or int(time.time()) % 1000 * 1_000_000 + 500_000_000
    )
    slot_rooms = int(os.environ.get("BENCH_SLOT_ROOMS") or 0)
    before = int(os.environ.get("BENCH_SLOT_OFFSET") or 0)
    fixed = {
        "{property}": os.environ.get("BENCH_PROPERTY", "4242"),
        "{room}": os.environ.get("BENCH_ROOM", "5001"),
    }
    rendered = []
    for n in range(count):
        slot = (before + n) // slot_rooms if slot_rooms else 0
        arrival = FIRST_NIGHT + timedelta(days=3 * slot)
        text = BODY.replace("{id}", str(base + n))
        for key, value in {
            **fixed,
            "{arrival}": arrival.isoformat(),
            "{departure}": (arrival + timedelta(days=3)).isoformat(),
        }.items():
            text = text.replace(key, value)
        body = text.encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {secret}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        rendered.append(head.encode() + body)
    return rendered


async def run(port: int, path: str, rate: int, seconds: int, secret: str) -> dict[str, float]:
    to_send = requests(path, secret, rate * seconds)
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    opened = 0
    latencies: list[float] = []
    non_2xx = unanswered = 0

    async def connection(fresh: bool) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        nonlocal opened
        if idle and not fresh:
            return idle.pop()
        if opened >= MAX_CONNECTIONS:
            return None
        opened += 1
        return await asyncio.open_connection("127.0.0.1", port)

    async def exchange(
        link: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
    ) -> bytes:
        reader, writer = link
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        at = head.lower().find(b"content-length:")
        await reader.readexactly(int(head[at + 15 : head.find(b"\r\n", at)]) if at >= 0 else 0)
        return head

    async def one(request: bytes, due: float) -> None:
        nonlocal non_2xx, unanswered
        # A kept-alive connection the server has since closed as idle gets one resend on a
        # new connection, as any HTTP client does; the latency still counts from `due`.
        for attempt in range(2):
            link = None
            try:
                link = await connection(fresh=attempt > 0)
                if link is None:  # every connection busy and no more allowed
                    break
                head = await exchange(link, request)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                if link is not None:
                    link[1].close()
                continue
            latencies.append(time.perf_counter() - due)
            if not head.startswith(b"HTTP/1.1 2"):
                non_2xx += 1
            idle.append(link)
            return
        unanswered += 1

    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter() + 0.1
    start_epoch = time.time() + 0.1
    interval = 1 / rate
    for n, request in enumerate(to_send):
        due = start + n * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)  # sleep-ok: the schedule of an open-loop generator
        tasks.append(asyncio.create_task(one(request, due)))
    sent_for = time.perf_counter() - start
    await asyncio.gather(*tasks)
    for _, writer in idle:
        writer.close()
    ordered = sorted(latencies) or [float("nan")]
    return {
        "offered": len(to_send) / sent_for,
        "p50": ordered[len(ordered) // 2] * 1000,
        "p99": ordered[int(len(ordered) * 0.99)] * 1000,
        "max": ordered[-1] * 1000,
        "mean": statistics.mean(ordered) * 1000,
        "non_2xx": float(non_2xx),
        "unanswered": float(unanswered),
        "connections": float(opened),
        "start_epoch": start_epoch,
    }


async def offer(
    port: int, path: str, rate: int, seconds: int, secret: str, **env: Any
) -> dict[str, float]:
    """This generator in a process of its own (`env`: the optional environment above, e.g.
    BENCH_FIRST_ID=...); its figures."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "channel_sync_tools.bench.open_loop",
        str(port),
        path,
        str(rate),
        str(seconds),
        env={**os.environ, "BENCH_SECRET": secret, **{k: str(v) for k, v in env.items()}},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    result: dict[str, float] = json.loads(out)
    return result


def main() -> None:
    port, path, rate, seconds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    result = uvloop.run(run(port, path, rate, seconds, os.environ["BENCH_SECRET"]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
