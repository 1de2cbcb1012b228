"""`make bench` (gateway part): the webhook gateway against a naive baseline, same machine,
same load generator, same load (prints figures, never asserts).

1. Closed loop, wrk (2 threads, 32 connections, BENCH_GW_SECONDS each, every request a new
   booking of about 1.6 KB): requests/s, p50 and p99 of the gateway and of the naive
   baseline (`naive_gateway.py`: one INSERT and one confirmed publish per request), and
   their ratio. Both publish to quorum queues, as the project's topology declares them.
   BENCH_GW_ROUNDS
   rounds (default 3) alternate the two, so a machine whose load drifts during the run
   weighs on both alike; the medians are compared. Beside them,
   the CPU each request cost the server process, its own Postgres backends and RabbitMQ:
   figures that other load on the machine moves far less than the rates.
2. Open loop at BENCH_GW_RATE requests/s (default 1,000) for BENCH_GW_OPEN_SECONDS, from
   `bench/open_loop.py` in its own process: requests are sent on schedule whether or not
   earlier ones were answered, and latency counts from the scheduled time, so a slow server
   cannot slow the offered load down.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import statistics
import sys
from pathlib import Path

import asyncpg
import httpx
import psutil
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
ROUNDS = int(os.environ.get("BENCH_GW_ROUNDS", "3"))


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


def _cpu_s(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each process still alive."""
    used: dict[int, float] = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        used[pid] = times.user + times.system
    return used


async def _backends(dsn: str, application_name: str) -> list[int]:
    """The Postgres backends serving one of the bench's servers (its pool connections)."""
    db = await asyncpg.connect(dsn)
    try:
        rows = await db.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = $1",
            application_name,
        )
    finally:
        await db.close()
    return [r["pid"] for r in rows]


def _broker_pids() -> list[int]:
    """RabbitMQ's Erlang VM on this machine (its CPU is shared by whatever publishes)."""
    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "beam.smp"]


async def measured_wrk(url: str, server_pid: int, dsn: str, name: str) -> dict[str, float]:
    """`wrk`, plus the CPU per request (µs) of the server process, of its Postgres
    backends (a backend opened during the run counts from zero) and of the broker."""
    server_before = _cpu_s([server_pid])
    db_before = _cpu_s(await _backends(dsn, name))
    broker_before = _cpu_s(_broker_pids())
    result = await wrk(url)
    served = result["requests"] or 1.0
    broker_after = _cpu_s(_broker_pids())
    db_after = _cpu_s(await _backends(dsn, name))
    result["server_us"] = (
        (sum(_cpu_s([server_pid]).values()) - sum(server_before.values())) / served * 1e6
    )
    result["db_us"] = sum(t - db_before.get(pid, 0.0) for pid, t in db_after.items()) / served * 1e6
    result["broker_us"] = (
        sum(t - broker_before.get(pid, 0.0) for pid, t in broker_after.items()) / served * 1e6
    )
    return result


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
    requests = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "requests": requests,
        "p50": _wrk_ms(out, "50%"),
        "p99": _wrk_ms(out, "99%"),
        "non_2xx": float(non_2xx.group(1)) if non_2xx else 0.0,
    }


def _wrk_ms(out: str, pct: str) -> float:
    value, unit = re.search(rf"{pct}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def open_loop(port: int, path: str) -> dict[str, float]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "bench/open_loop.py"),
        str(port),
        path,
        str(RATE),
        str(OPEN_SECONDS),
        env={**os.environ, "BENCH_SECRET": SECRET},
        stdout=asyncio.subprocess.PIPE,
    )
    out = (await proc.communicate())[0].decode()
    result: dict[str, float] = json.loads(out)
    return result


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


async def main() -> None:
    dsn = await fresh_database(BASE_DSN, "channel_sync_bench_gateway")
    path = await seed(dsn)
    vhost = infra.create_vhost()  # its own vhost: nothing consumes what the bench publishes
    amqp = infra.with_vhost(AMQP, vhost) if vhost else AMQP
    env = {"DATABASE_URL": dsn, "RABBITMQ_URL": amqp, "LOG_LEVEL": "WARNING"}
    say(f"\n▶ gateway vs naive baseline ({os.cpu_count()} CPUs, wrk -t2 -c32 -d{SECONDS}s)")
    gateway = await start(
        ["webhook-gateway"],
        {
            **env,
            "DATABASE_URL": f"{dsn}?application_name=gateway",
            "HTTP_PORT": str(GATEWAY_PORT),
            "HTTP_HOST": "127.0.0.1",
        },
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
        {**env, "DATABASE_URL": f"{dsn}?application_name=naive"},
        f"http://127.0.0.1:{NAIVE_PORT}/",
    )
    targets = {
        "naive": (f"http://127.0.0.1:{NAIVE_PORT}/naive", naive.pid),
        "gateway": (f"http://127.0.0.1:{GATEWAY_PORT}{path}", gateway.pid),
    }
    try:
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for round_no in range(1, ROUNDS + 1):
            for name, (url, pid) in targets.items():
                runs[name].append(await measured_wrk(url, pid, dsn, name))
            say(
                f"    round {round_no}: naive {runs['naive'][-1]['rps']:6.0f}/s, gateway "
                f"{runs['gateway'][-1]['rps']:6.0f}/s "
                f"({runs['gateway'][-1]['rps'] / runs['naive'][-1]['rps']:.2f}x)"
            )
        for name, r in runs.items():
            say(
                f"    {name:8} {_median(r, 'rps'):7.0f} requests/s  "
                f"p50 {_median(r, 'p50'):6.1f} ms  p99 {_median(r, 'p99'):6.1f} ms  "
                f"non-2xx {sum(x['non_2xx'] for x in r):.0f}   (medians of {ROUNDS} rounds)"
            )
            say(
                f"             CPU per request: server {_median(r, 'server_us'):4.0f} µs, "
                f"its Postgres backends {_median(r, 'db_us'):4.0f} µs, "
                f"RabbitMQ {_median(r, 'broker_us'):4.0f} µs"
            )
        ratio = _median(runs["gateway"], "rps") / _median(runs["naive"], "rps")
        say(f"    gateway / naive throughput: {ratio:.2f}x")
        say(f"\n▶ open loop: {RATE} requests/s offered for {OPEN_SECONDS} s")
        for name, port, url_path in (
            ("naive", NAIVE_PORT, "/naive"),
            ("gateway", GATEWAY_PORT, path),
        ):
            r = await open_loop(port, url_path)
            say(
                f"    {name:8} offered {r['offered']:6.0f}/s  p50 {r['p50']:6.1f} ms  "
                f"p99 {r['p99']:6.1f} ms  max {r['max']:7.1f} ms  non-2xx {r['non_2xx']:.0f}  "
                f"unanswered {r['unanswered']:.0f}  "
                f"connections {r['connections']:.0f}"
            )
    finally:
        for proc in (gateway, naive):
            proc.terminate()
            await proc.wait()
        if vhost:
            infra.delete_vhost(vhost)


if __name__ == "__main__":
    asyncio.run(main())
