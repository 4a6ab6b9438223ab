"""`retaguarda chaos`, small: 24 orders with 20 % provider faults while the orders worker
is SIGKILLed twice and the Temporal dev server once (restarted on its SQLite file): every
order ends terminal and the live audit (each workflow asked) passes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_demo_and_audit import stack_env

pytestmark = pytest.mark.e2e


def test_chaos_with_worker_kills_and_a_server_restart_loses_nothing(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "retaguarda", "chaos", "--orders", "24", "--faults", "0.2",
         "--seed", "11", "--worker-kills", "2", "--server-restarts", "1", "--json",
         "--timeout", "400"],
        env=stack_env(tmp_path), capture_output=True, text=True, timeout=600,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert run.stdout, run.stderr[-3000:]
    result = json.loads(run.stdout)
    assert result["violations"] == []
    assert (result["worker_kills"], result["server_restarts"]) == (2, 1)
    assert result["terminal"] == result["orders"] == 24
    assert result["needs_attention"] == 0
    assert result["audit_ok"] is True
    assert (
        "24 workflow(s) asked"
        in result["audit_checks"]["every warehouse task agrees with its workflow"]
    )
    assert result["faults_injected"] > 0
    assert run.returncode == 0
