"""The short fault run (`make chaos ARGS=--short`): one SIGKILL of each service, a RabbitMQ
stop/start and a Postgres restart under load in both directions, on private servers. Run by
`make test` alone, after every other test directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(900)
@pytest.mark.infra  # private Postgres and RabbitMQ servers
def test_short_chaos_run_loses_doubles_and_strands_nothing(tmp_path: Path) -> None:
    summary = tmp_path / "chaos.json"
    bin_dir = str(Path(sys.executable).parent)
    proc = subprocess.Popen(
        [sys.executable, "-m", "channel_sync_tools.chaos", "--short", "--json", str(summary)],
        cwd=ROOT,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=840)
    except subprocess.TimeoutExpired:
        proc.terminate()  # SIGTERM: the run stops its private servers on the way out
        stdout, stderr = proc.communicate(timeout=60)
    print(stdout[-6000:], stderr[-3000:])
    assert summary.exists(), "the chaos run ended before judging"
    result = json.loads(summary.read_text())
    assert result["bookings_compared"] > 20 and result["reservations_compared"] > 20
    assert result["nights_compared"] > 60
    for figure in ("lost", "doubled", "duplicate_in_beds24", "stuck", "availability_mismatches"):
        assert result[figure] == 0, (figure, result["examples"])
    faults = result["recovery_s"]
    assert len(faults) == 6  # four kills, RabbitMQ, Postgres
    assert all(seconds is not None and seconds <= 30 for seconds in faults.values()), faults
    assert proc.returncode == 0
