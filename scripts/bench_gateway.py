"""`make bench` (gateway part): the webhook gateway against a naive baseline, same machine,
same load generator, same load (prints figures, never asserts).

1. Closed loop, wrk (2 threads, 32 connections, BENCH_GW_SECONDS each, every request a new
   booking of about 1.6 KB): requests/s, p50 and p99 of the gateway and of the naive
   baseline (`naive_gateway.py`: one INSERT and one confirmed publish per request), and
   their ratio.
2. Open loop at BENCH_GW_RATE requests/s (default 1,000) for BENCH_GW_OPEN_SECONDS: requests
   are sent on schedule whether or not earlier ones were answered, and latency counts from
   the scheduled time, so a slow server cannot slow the offered load down.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from channel_sync_testing import infra
from stack import fresh_database, say, wait_until

HERE = Path(__file__).resolve().parent
BASE_DSN = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/channel_sync")
AMQP = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
GATEWAY_PORT, NAIVE_PORT = 18180, 18181
SECRET = "bench-gateway-secret"  # noqa: S105 - a throwaway property's secret
SECONDS = int(os.environ.get("BENCH_GW_SECONDS", "15"))
RATE = int(os.environ.get("BENCH_GW_RATE", "1000"))
OPEN_SECONDS = int(os.environ.get("BENCH_GW_OPEN_SECONDS", "10"))
# The same booking webhook as bench/webhook.lua sends (about 1.6 KB); {id} differs each time.
BODY = (
    '{"timeStamp":"2026-11-25T10:00:00Z","retries":0,"booking":{"id":{id},'
    '"propertyId":4242,"roomId":5001,"status":"confirmed","arrival":"2031-06-01",'
    '"departure":"2031-06-04","numAdult":2,"firstName":"Bench","lastName":"Guest",'
    '"modifiedTime":"2026-11-25T10:00:00Z","comments":"' + "x" * 1150 + '"}}'
)


async def seed(dsn: str) -> str:
    """A property with its Beds24 link and the bench secret; its webhook path."""
    db = await asyncpg.connect(dsn)
    try:
        prop = await db.fetchval("INSERT INTO hotel_settings (name) VALUES ('Bench') RETURNING id")
        await db.execute(
            "INSERT INTO beds24_properties (property_id, beds24_property_id, account_id, "
            "refresh_token) VALUES ($1, 4242, 'bench', 'bench')",
            prop,
        )
        await db.execute(
            "INSERT INTO webhook_secrets (property_id, secret_sha256) VALUES ($1, $2)",
            prop,
            hashlib.sha256(SECRET.encode()).hexdigest(),
        )
    finally:
        await db.close()
    return f"/webhooks/beds24/{prop}"


async def start(command: list[str], env: dict[str, str], url: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        *command,
        env={**os.environ, **env},
        cwd=HERE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )

    async def up() -> bool:
        try:
            async with httpx.AsyncClient(timeout=1) as http:
                await http.get(url)
        except httpx.HTTPError:
            return False
        return True

    await wait_until(f"{command[0]} up", up, timeout=60, quiet=True)
    return proc


async def wrk(url: str) -> dict[str, float]:
    proc = await asyncio.create_subprocess_exec(
        "wrk",
        "-t2",
        "-c32",
        f"-d{SECONDS}s",
        "--latency",
        "-s",
        str(HERE / "bench/webhook.lua"),
        url,
        env={**os.environ, "BENCH_SECRET": SECRET},
        stdout=asyncio.subprocess.PIPE,
    )
    out = (await proc.communicate())[0].decode()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": _wrk_ms(out, "50%"),
        "p99": _wrk_ms(out, "99%"),
        "non_2xx": float(non_2xx.group(1)) if non_2xx else 0.0,
    }


def _wrk_ms(out: str, pct: str) -> float:
    value, unit = re.search(rf"{pct}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def open_loop(port: int, path: str, rate: int, seconds: int) -> dict[str, float]:
    """Send `rate` requests/s on schedule over keep-alive connections (more are opened when
    all are busy); latency from each request's scheduled time to its whole answer."""
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    opened = 0
    latencies: list[float] = []
    errors = 0
    base = int(time.time()) % 1000 * 1_000_000 + 500_000_000

    async def connection() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        nonlocal opened
        if idle.empty() and opened < 512:
            opened += 1
            return await asyncio.open_connection("127.0.0.1", port)
        return await idle.get()

    async def one(n: int, due: float) -> None:
        nonlocal errors
        body = BODY.replace("{id}", str(base + n)).encode()
        request = (
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {SECRET}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        reader, writer = await connection()
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 2"):
                errors += 1
            latencies.append(time.perf_counter() - due)
            idle.put_nowait((reader, writer))
        except (OSError, asyncio.IncompleteReadError):
            errors += 1
            writer.close()

    tasks = []
    start = time.perf_counter() + 0.2
    for n in range(rate * seconds):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)  # sleep-ok: the schedule of an open-loop generator
        tasks.append(asyncio.create_task(one(n, due)))
    await asyncio.gather(*tasks)
    sent_for = time.perf_counter() - start
    while not idle.empty():
        idle.get_nowait()[1].close()
    ordered = sorted(latencies)
    return {
        "offered": rate * seconds / sent_for,
        "p50": ordered[len(ordered) // 2] * 1000,
        "p99": ordered[int(len(ordered) * 0.99)] * 1000,
        "max": ordered[-1] * 1000,
        "mean": statistics.mean(ordered) * 1000,
        "errors": float(errors),
    }


async def main() -> None:
    dsn = await fresh_database(BASE_DSN, "channel_sync_bench_gateway")
    path = await seed(dsn)
    vhost = infra.create_vhost()  # its own vhost: nothing consumes what the bench publishes
    amqp = infra.with_vhost(AMQP, vhost) if vhost else AMQP
    env = {"DATABASE_URL": dsn, "RABBITMQ_URL": amqp, "LOG_LEVEL": "WARNING"}
    say(f"\n▶ gateway vs naive baseline ({os.cpu_count()} CPUs, wrk -t2 -c32 -d{SECONDS}s)")
    gateway = await start(
        ["webhook-gateway"],
        {**env, "HTTP_PORT": str(GATEWAY_PORT), "HTTP_HOST": "127.0.0.1"},
        f"http://127.0.0.1:{GATEWAY_PORT}/healthz",
    )
    naive = await start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "naive_gateway:app",
            "--port",
            str(NAIVE_PORT),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env,
        f"http://127.0.0.1:{NAIVE_PORT}/",
    )
    try:
        results: dict[str, Any] = {}
        results["naive"] = await wrk(f"http://127.0.0.1:{NAIVE_PORT}/naive")
        results["gateway"] = await wrk(f"http://127.0.0.1:{GATEWAY_PORT}{path}")
        for name, r in results.items():
            say(
                f"    {name:8} {r['rps']:7.0f} requests/s  p50 {r['p50']:6.1f} ms  "
                f"p99 {r['p99']:6.1f} ms  non-2xx {r['non_2xx']:.0f}"
            )
        ratio = results["gateway"]["rps"] / results["naive"]["rps"]
        say(f"    gateway / naive throughput: {ratio:.2f}x")
        say(f"\n▶ open loop: {RATE} requests/s offered for {OPEN_SECONDS} s")
        for name, port, url_path in (
            ("naive", NAIVE_PORT, "/naive"),
            ("gateway", GATEWAY_PORT, path),
        ):
            r = await open_loop(port, url_path, RATE, OPEN_SECONDS)
            say(
                f"    {name:8} offered {r['offered']:6.0f}/s  p50 {r['p50']:6.1f} ms  "
                f"p99 {r['p99']:6.1f} ms  max {r['max']:7.1f} ms  errors {r['errors']:.0f}"
            )
    finally:
        for proc in (gateway, naive):
            proc.terminate()
            await proc.wait()
        if vhost:
            infra.delete_vhost(vhost)


if __name__ == "__main__":
    asyncio.run(main())
