"""`retaguarda bench intake`: how fast the API takes signed webhooks in, and whether every
accepted one reaches a workflow exactly once.

It starts a Temporal dev server and `retaguarda api` of its own (no worker: the
workflows are only started), runs the open-loop generator (`loadgen.py`) in a second
process, waits for the inbox relay to hand everything over, then counts the order
workflows in Temporal: an accepted order without one is lost; one with more than one run
is a duplicate start.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from config.settings import Settings
from config.temporal import connect
from db.models import InboxRow
from db.session import create_engine, create_sessionmaker, read_session
from retaguarda.bench.loadgen import Plan
from retaguarda.bench.processes import bench_settings, cpu_seconds, start

Report = Callable[[str], None]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of `values`; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def run_intake_bench(
    base: Settings,
    *,
    rate: float,
    seconds: float,
    db_url: str = "",
    var_dir: Path | None = None,
    drain_timeout_s: float = 600,
    extra_env: dict[str, str] | None = None,
    profile_dir: Path | None = None,
    report: Report = lambda _: None,
) -> dict[str, Any]:
    own_dir = var_dir is None
    where = var_dir or Path(tempfile.mkdtemp(prefix="retaguarda-bench-intake-"))
    settings = bench_settings(base, where.resolve(), db_url)
    try:
        report(f"starting Temporal and the API under {where}")
        stack = start(settings, extra_env)
        try:
            return _measure(
                settings, stack.processes, rate, seconds, drain_timeout_s, report, profile_dir
            )
        finally:
            stack.stop()
    finally:
        if own_dir:
            shutil.rmtree(where, ignore_errors=True)


def _measure(
    settings: Settings,
    processes: dict[str, subprocess.Popen[bytes]],
    rate: float,
    seconds: float,
    drain_timeout_s: float,
    report: Report,
    profile_dir: Path | None,
) -> dict[str, Any]:
    plan = Plan(
        host=settings.api.host,
        port=settings.api.port,
        rate=rate,
        seconds=seconds,
        secret=settings.secrets.store_webhook_secret.get_secret_value(),
        run_id=secrets.token_hex(4),
    )
    plan_file, result_file = settings.var_dir / "plan.json", settings.var_dir / "result.json"
    plan_file.write_text(plan.model_dump_json())
    pids = {name: proc.pid for name, proc in processes.items()}
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    report(f"offering {rate:g} webhooks/s for {seconds:g} s from a second process")
    profiler = _profile(pids["api"], seconds, profile_dir) if profile_dir else None
    generator = subprocess.run(
        [sys.executable, "-m", "retaguarda.bench.loadgen", str(plan_file), str(result_file)],
        timeout=seconds + plan.timeout_s + 120,
        check=False,
    )
    if profiler is not None:
        profiler.wait(timeout=60)
    if generator.returncode != 0:
        raise RuntimeError(f"the load generator failed with exit code {generator.returncode}")
    load_ended = time.monotonic()
    cpu_after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    load = json.loads(result_file.read_text())
    report(f"{len(load['accepted_ids'])} accepted; waiting for the relay to hand them over")
    drained, backlog = _wait_drained(settings, drain_timeout_s)
    drain_s = time.monotonic() - load_ended
    runs = asyncio.run(_workflow_runs(settings, set(load["accepted_ids"])))
    handover = asyncio.run(_handover_delays(settings))
    return _summary(plan, load, runs, handover, cpu_before, cpu_after, drained, backlog, drain_s)


def _profile(pid: int, seconds: float, where: Path) -> subprocess.Popen[bytes]:
    """py-spy (dev extra) sampling the API while the load runs, stacks of the thread
    holding the GIL only (Python CPU), as collapsed stacks in `where`/api.txt."""
    where.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    args = [spy, "record", "--pid", str(pid), "--gil", "--rate", "200", "--format", "raw"]
    args += ["--duration", str(max(1, int(seconds))), "--nonblocking", "-o", str(where / "api.txt")]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_drained(settings: Settings, timeout_s: float) -> tuple[bool, int]:
    """Poll /health until no inbox entry waits for hand-over; returns (drained, backlog)."""
    deadline = time.monotonic() + timeout_s
    backlog = -1
    with httpx.Client(base_url=settings.api.url, timeout=10) as http:
        while time.monotonic() < deadline:
            counts = http.get("/health").json()["inbox"]
            backlog = counts.get("pending", 0) + counts.get("failed", 0)
            if backlog == 0:
                return True, 0
            time.sleep(0.5)
    return False, backlog


async def _workflow_runs(settings: Settings, wanted: set[str]) -> Counter[str]:
    """Runs per order workflow id, re-listed until every wanted one is visible (the dev
    server's visibility store lags its history a little) or 30 s have passed."""
    t = settings.temporal
    client = await connect(t.address, t.namespace, settings.secrets.codec_key.get_secret_value())
    ids = {f"order:store:{external_id}" for external_id in wanted}
    deadline = time.monotonic() + 30
    while True:
        runs: Counter[str] = Counter()
        async for wf in client.list_workflows("WorkflowType = 'OrderWorkflow'", page_size=1000):
            runs[wf.id] += 1
        if ids <= runs.keys() or time.monotonic() > deadline:
            return runs
        await asyncio.sleep(1)


async def _handover_delays(settings: Settings) -> list[float]:
    """Seconds from storing to starting, per started inbox entry."""
    engine = create_engine(settings.database_url)
    try:
        async with read_session(create_sessionmaker(engine)) as s:
            rows = await s.execute(
                select(InboxRow.received_at, InboxRow.started_at).where(
                    InboxRow.started_at.is_not(None)
                )
            )
            return [
                (started - received).total_seconds()
                for received, started in rows
                if started is not None
            ]
    finally:
        await engine.dispose()


def _summary(
    plan: Plan,
    load: dict[str, Any],
    runs: Counter[str],
    handover: list[float],
    cpu_before: dict[str, float | None],
    cpu_after: dict[str, float | None],
    drained: bool,
    backlog: int,
    drain_s: float,
) -> dict[str, Any]:
    outcomes = load["outcomes"]
    latencies = [o["latency_ms"] for o in outcomes]
    lags = [o["lag_ms"] for o in outcomes]
    accepted = load["accepted_ids"]
    elapsed = max(load["elapsed_s"], 1e-9)
    lost = [i for i in accepted if runs.get(f"order:store:{i}", 0) == 0]
    cpu = {
        f"{name}_cpu_s": round(after - before, 2)
        for name, after in cpu_after.items()
        if after is not None and (before := cpu_before.get(name)) is not None
    }
    return {
        "offered_per_s": plan.rate,
        "seconds": plan.seconds,
        "sent": load["sent"],
        "accepted": len(accepted),
        "accepted_per_s": round(len(accepted) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p90_ms": round(percentile(latencies, 90), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies, default=0.0), 2),
        "send_lag_p99_ms": round(percentile(lags, 99), 2),
        "statuses": load["statuses"],
        "lost": len(lost),
        "lost_sample": lost[:10],
        "duplicates_started": sum(1 for n in runs.values() if n > 1),
        "drained": drained,
        "backlog_left": backlog,
        "drain_s": round(drain_s, 1),
        "handover_p50_s": round(percentile(handover, 50), 2),
        "handover_p99_s": round(percentile(handover, 99), 2),
        "connections_opened": load["connections_opened"],
        "stale_connection_retries": load["stale_connection_retries"],
        "generator_cpu_s": round(load["generator_cpu_s"], 2),
        **cpu,
    }
