"""The whole stack, as a user runs it: `retaguarda demo` starts the embedded stack (real
Temporal dev server, sandbox, API, worker as processes), drives orders with faults until
every one is terminal, stops the stack; `retaguarda audit` then proves the effects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import free_port

pytestmark = pytest.mark.e2e

CLI = [sys.executable, "-m", "retaguarda"]


def stack_env(var_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "RETAGUARDA_VAR_DIR": str(var_dir),
        "RETAGUARDA_TEMPORAL__ADDRESS": f"127.0.0.1:{free_port()}",
        "RETAGUARDA_TEMPORAL__UI_PORT": str(free_port()),
        "RETAGUARDA_API__PORT": str(free_port()),
        "RETAGUARDA_SANDBOX__PORT": str(free_port()),
        "RETAGUARDA_DURATIONS__PAYMENT_WINDOW_S": "8",
        "RETAGUARDA_DURATIONS__LATE_PAYMENT_GRACE_S": "5",
    }


def test_demo_with_faults_ends_every_order_terminal_and_the_audit_passes(tmp_path: Path) -> None:
    env = stack_env(tmp_path)
    demo = subprocess.run(
        [*CLI, "demo", "--orders", "14", "--faults", "0.1", "--seed", "7", "--json",
         "--timeout", "240"],
        env=env, capture_output=True, text=True, timeout=400, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-3000:]
    summary = json.loads(demo.stdout)
    assert summary["not_terminal"] == []
    assert summary["needs_attention"] == []
    assert sum(summary["statuses"].values()) == 14
    assert set(summary["statuses"]) <= {"delivered", "cancelled"}
    assert summary["statuses"].get("delivered", 0) >= 1
    assert sum(summary["faults_injected"].values()) > 0
    assert set(summary["bookings"]) == {"api", "portal", "marketplace"}
    assert sum(summary["bookings"].values()) == summary["statuses"].get("delivered", 0)

    audit = subprocess.run(
        [*CLI, "audit", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    report = json.loads(audit.stdout)
    failed = [c for c in report["checks"] if not c["ok"]]
    assert audit.returncode == 0, failed
    assert report["ok"] is True
    names = {c["name"] for c in report["checks"]}
    assert any("one authorised NF-e" in n for n in names)
    assert any("stock conserved" in n for n in names)
    assert any("label stored" in n for n in names)
