"""`retaguarda bench intake` as a user runs it, small: it starts its own Temporal dev
server and API, offers signed webhooks from a second process and accounts for every
accepted one in Temporal. Figures are not checked (they belong in docs/BENCHMARKS.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

KEYS = {
    "offered_per_s", "accepted", "accepted_per_s", "p50_ms", "p99_ms", "statuses", "lost",
    "duplicates_started", "drained", "drain_s", "handover_p99_s",
}  # fmt: skip


def test_bench_intake_reports_every_accepted_webhook_reaching_one_workflow(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "RETAGUARDA_VAR_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "retaguarda", "bench", "intake", "--rate", "50", "--seconds", "2",
         "--json"],
        env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert KEYS <= result.keys()
    assert result["accepted"] == 100
    assert result["statuses"] == {"202": 100}
    assert (result["lost"], result["duplicates_started"], result["drained"]) == (0, 0, True)
