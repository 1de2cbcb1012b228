"""`make test`: every test directory in its own pytest process, two at a time.

Each service keeps its tests in a `tests` package of its own; one pytest process cannot import
several packages of the same name, so each directory runs apart. Every process gets its own
scratch database and RabbitMQ vhost (see conftest.py), so they run side by side safely.
Prints each directory's output as it finishes, then one closing line for the whole suite.
Extra arguments go to every pytest process (e.g. `make test ARGS="-k retry"`). Then the
whole-system checks that are not pytest (`CHECKS`: the hostile run), each counted as one test.
`--fast`: the unit tests only (`-m "not infra"`), without the checks (`make test-fast`).
"""

from __future__ import annotations

import asyncio
import re
import sys
import time

from channel_sync_tools.paths import ROOT

GROUPS = [
    "shared/tests",
    "sandbox/tests",
    "tests",
    *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("services/*/tests")),
]
# Restarts servers (private ones) and measures recovery: runs alone, after everything else.
LAST_ALONE = ["tests/chaos"]
# Whole-system checks run as modules: each counts as one test (exit 0: passed).
CHECKS = {"hostile run": "channel_sync_tools.hostile_run"}
PARALLEL = 2
COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")


async def _run(name: str, args: list[str]) -> tuple[int, str]:
    """`python <args>` from the repository root; prints its output when it ends."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await proc.communicate()
    text = output.decode(errors="replace")
    took = time.monotonic() - started
    print(f"\n===== {name} (exit {proc.returncode}, {took:.1f}s) =====\n{text}", flush=True)
    return proc.returncode or 0, text


async def run_group(path: str, args: list[str], gate: asyncio.Semaphore) -> tuple[str, int, str]:
    if path == "tests":
        args = [*args, *(f"--ignore={alone}" for alone in LAST_ALONE)]
    async with gate:
        code, text = await _run(path, ["-m", "pytest", path, *args])
    return path, code, text


async def run_check(name: str, module: str) -> tuple[str, int, str]:
    code, text = await _run(name, ["-m", module])
    return name, code, f"{text}\n{'1 passed' if code == 0 else '1 failed'}"


async def main(args: list[str]) -> int:
    fast = "--fast" in args  # the unit tests only: no servers, no whole-system checks
    if fast:
        args = [a for a in args if a != "--fast"] + ["-m", "not infra"]
    gate = asyncio.Semaphore(PARALLEL)
    results = await asyncio.gather(
        *(run_group(g, args, gate) for g in GROUPS if (ROOT / g).is_dir())
    )
    for alone in LAST_ALONE:
        results.append(await run_group(alone, args, gate))
    if not fast:
        for name, module in CHECKS.items():
            results.append(await run_check(name, module))
    totals: dict[str, int] = {}
    failed_groups = []
    for path, code, text in results:
        summary = [line for line in text.splitlines() if COUNT.search(line)]
        for number, kind in COUNT.findall(summary[-1] if summary else ""):
            key = "errors" if kind.startswith("error") else kind
            totals[key] = totals.get(key, 0) + int(number)
        if code not in (0, 5):  # 5: nothing collected (e.g. filtered out by -k)
            failed_groups.append(path)
    for path in failed_groups:
        print(f"FAILED group: {path}")
    failed = totals.get("failed", 0) + totals.get("errors", 0)
    if failed_groups and failed == 0:
        failed = len(failed_groups)  # a group that crashed before counting anything
    line = f"{totals.get('passed', 0)} passed, {failed} failed"
    if totals.get("skipped"):
        line += f", {totals['skipped']} skipped"
    print(f"\nsuite: {line}")
    return 1 if failed_groups else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
