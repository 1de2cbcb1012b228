"""`make bench` (gateway part): the webhook gateway against a naive baseline, same machine,
same load generator, same load (prints figures, never asserts).

1. Closed loop, wrk (2 threads, 32 connections, BENCH_GW_SECONDS each, every request a new
   booking of about 1.6 KB): requests/s, p50 and p99 of the gateway and of the naive
   baseline (`bench.naive_gateway`: one INSERT and one confirmed publish per request), and
   their ratio. Both publish to quorum queues, as the project's topology declares them.
   BENCH_GW_ROUNDS
   rounds (default 3) alternate the two, so a machine whose load drifts during the run
   weighs on both alike; the medians are compared. Beside them,
   the CPU each request cost the server process, its own Postgres backends and RabbitMQ:
   figures that other load on the machine moves far less than the rates.
2. Open loop at BENCH_GW_RATE requests/s (default 1,000) for BENCH_GW_OPEN_SECONDS, from
   `bench.open_loop` in its own process: requests are sent on schedule whether or not
   earlier ones were answered, and latency counts from the scheduled time, so a slow server
   cannot slow the offered load down.

Both servers run as processes of one Stack (`.run/bench-gateway-*.log`).
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import sys
from importlib.resources import as_file, files

import asyncpg
from channel_sync_testing import infra

from channel_sync_tools.bench.common import cpu_seconds, cpu_since, processes_named
from channel_sync_tools.bench.open_loop import offer
from channel_sync_tools.onboarding import register_directly
from channel_sync_tools.output import say
from channel_sync_tools.stack import BASE_AMQP, BASE_DSN, Process, Stack, fresh_database

GATEWAY_PORT, NAIVE_PORT = 18180, 18181
SECRET = "bench-gateway-secret"  # noqa: S105 - a throwaway property's secret
SECONDS = int(os.environ.get("BENCH_GW_SECONDS", "15"))
RATE = int(os.environ.get("BENCH_GW_RATE", "1000"))
OPEN_SECONDS = int(os.environ.get("BENCH_GW_OPEN_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_GW_ROUNDS", "3"))


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


async def measured_wrk(url: str, server_pid: int, dsn: str, name: str) -> dict[str, float]:
    """`wrk`, plus the CPU per request (µs) of the server process, of its Postgres
    backends (a backend opened during the run counts from zero) and of the broker
    (RabbitMQ's Erlang VM: its CPU is shared by whatever publishes)."""
    server_before = cpu_seconds([server_pid])
    db_before = cpu_seconds(await _backends(dsn, name))
    broker_before = cpu_seconds(processes_named("beam.smp"))
    result = await wrk(url)
    served = result["requests"] or 1.0
    result["broker_us"] = cpu_since(broker_before, processes_named("beam.smp")) / served * 1e6
    result["db_us"] = cpu_since(db_before, await _backends(dsn, name)) / served * 1e6
    result["server_us"] = cpu_since(server_before, [server_pid]) / served * 1e6
    return result


async def wrk(url: str) -> dict[str, float]:
    with as_file(files("channel_sync_tools.bench") / "webhook.lua") as script:
        proc = await asyncio.create_subprocess_exec(
            "wrk",
            "-t2",
            "-c32",
            f"-d{SECONDS}s",
            "--latency",
            "-s",
            str(script),
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


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


async def main() -> None:
    dsn = await fresh_database(BASE_DSN, "channel_sync_bench_gateway")
    property_id = await register_directly(dsn, "Bench", 4242, SECRET)
    path = f"/webhooks/beds24/{property_id}"
    vhost = infra.create_vhost()  # its own vhost: nothing consumes what the bench publishes
    amqp = infra.with_vhost(BASE_AMQP, vhost) if vhost else BASE_AMQP
    say(f"\n▶ gateway vs naive baseline ({os.cpu_count()} CPUs, wrk -t2 -c32 -d{SECONDS}s)")
    naive = (sys.executable, "-m", "uvicorn", "channel_sync_tools.bench.naive_gateway:app")
    stack = Stack(
        "bench-gateway",
        [
            Process(
                "webhook-gateway",
                ("webhook-gateway",),
                f"http://127.0.0.1:{GATEWAY_PORT}/readyz",
                {
                    "DATABASE_URL": f"{dsn}?application_name=gateway",
                    "HTTP_PORT": str(GATEWAY_PORT),
                    "HTTP_HOST": "127.0.0.1",
                },
            ),
            Process(
                "naive-gateway",
                (*naive, "--port", str(NAIVE_PORT), "--log-level", "warning", "--no-access-log"),
                f"http://127.0.0.1:{NAIVE_PORT}/healthz",
                {"DATABASE_URL": f"{dsn}?application_name=naive"},
            ),
        ],
        {**os.environ, "DATABASE_URL": dsn, "RABBITMQ_URL": amqp, "LOG_LEVEL": "WARNING"},
    )
    try:
        await stack.start_all()
        targets = {
            "naive": (f"http://127.0.0.1:{NAIVE_PORT}/naive", stack.pid("naive-gateway")),
            "gateway": (f"http://127.0.0.1:{GATEWAY_PORT}{path}", stack.pid("webhook-gateway")),
        }
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for round_no in range(1, ROUNDS + 1):
            for name, (url, pid) in targets.items():
                runs[name].append(await measured_wrk(url, pid, dsn, name))
            say(
                f"    round {round_no}: naive {runs['naive'][-1]['rps']:6.0f}/s, gateway "
                f"{runs['gateway'][-1]['rps']:6.0f}/s "
                f"({runs['gateway'][-1]['rps'] / runs['naive'][-1]['rps']:.2f}x)"
            )
        for name, measured in runs.items():
            say(
                f"    {name:8} {_median(measured, 'rps'):7.0f} requests/s  "
                f"p50 {_median(measured, 'p50'):6.1f} ms  p99 {_median(measured, 'p99'):6.1f} ms  "
                f"non-2xx {sum(x['non_2xx'] for x in measured):.0f}   (medians of {ROUNDS} rounds)"
            )
            say(
                f"             CPU per request: server {_median(measured, 'server_us'):4.0f} µs, "
                f"its Postgres backends {_median(measured, 'db_us'):4.0f} µs, "
                f"RabbitMQ {_median(measured, 'broker_us'):4.0f} µs"
            )
        ratio = _median(runs["gateway"], "rps") / _median(runs["naive"], "rps")
        say(f"    gateway / naive throughput: {ratio:.2f}x")
        say(f"\n▶ open loop: {RATE} requests/s offered for {OPEN_SECONDS} s")
        for name, port, url_path in (
            ("naive", NAIVE_PORT, "/naive"),
            ("gateway", GATEWAY_PORT, path),
        ):
            r = await offer(port, url_path, RATE, OPEN_SECONDS, SECRET)
            say(
                f"    {name:8} offered {r['offered']:6.0f}/s  p50 {r['p50']:6.1f} ms  "
                f"p99 {r['p99']:6.1f} ms  max {r['max']:7.1f} ms  non-2xx {r['non_2xx']:.0f}  "
                f"unanswered {r['unanswered']:.0f}  "
                f"connections {r['connections']:.0f}"
            )
    finally:
        await stack.stop_all()
        if vhost:
            infra.delete_vhost(vhost)


if __name__ == "__main__":
    asyncio.run(main())
